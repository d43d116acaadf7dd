/**
 * Reads and writes of devices and refresh tokens (PROTOCOL.md §9). A device's session epoch
 * goes into every access token signed for it; raising it ends every session of the device.
 */
import type { AccountDb } from './account-tables.ts'
import { toUser, USER_COLUMNS, type UserRow } from './user-store.ts'

/** A device (the sync clientId). */
export interface DeviceRow {
  id: string
  userId: string
  name: string
  createdAt: string
  lastSeenAt: string | null
}

/** A stored refresh token (hashed). */
export interface RefreshRow {
  id: string
  familyId: string
  userId: string
  deviceId: string
  expiresAt: string
  usedAt: string | null
  revokedAt: string | null
}

const DEVICE_COLUMNS = ['id', 'user_id as userId', 'name', 'created_at as createdAt', 'last_seen_at as lastSeenAt'] as const

/** The device, if any. */
export function findDevice(db: AccountDb, id: string): Promise<DeviceRow | undefined> {
  return db.selectFrom('pulse_devices').select(DEVICE_COLUMNS).where('id', '=', id).executeTakeFirst()
}

/** A device's session epoch, if the device exists. */
export async function deviceEpoch(db: AccountDb, id: string): Promise<number | undefined> {
  return (await db.selectFrom('pulse_devices').select('session_epoch').where('id', '=', id).executeTakeFirst())?.session_epoch
}

/**
 * One read for every authenticated request: the user and the session epoch of their device;
 * undefined when either is gone or the device is someone else's.
 */
export async function findUserAndDevice(
  db: AccountDb,
  userId: string,
  deviceId: string,
): Promise<{ user: UserRow; epoch: number } | undefined> {
  const row = await db
    .selectFrom('pulse_users as u')
    .innerJoin('pulse_devices as d', 'd.user_id', 'u.id')
    .select(USER_COLUMNS)
    .select('d.session_epoch as deviceEpoch')
    .where('u.id', '=', userId)
    .where('d.id', '=', deviceId)
    .executeTakeFirst()
  if (!row) return undefined
  const { deviceEpoch, ...user } = row
  return { user: toUser(user), epoch: deviceEpoch }
}

/** Registers a device. */
export async function insertDevice(db: AccountDb, d: DeviceRow): Promise<void> {
  await db
    .insertInto('pulse_devices')
    .values({ id: d.id, user_id: d.userId, name: d.name, created_at: d.createdAt, last_seen_at: d.lastSeenAt, session_epoch: 0 })
    .execute()
}

/** Records that a device was seen now. */
export async function touchDevice(db: AccountDb, id: string, at: string): Promise<void> {
  await db.updateTable('pulse_devices').set({ last_seen_at: at }).where('id', '=', id).execute()
}

/** A user's devices, oldest first. */
export function devicesOf(db: AccountDb, userId: string): Promise<DeviceRow[]> {
  return db.selectFrom('pulse_devices').select(DEVICE_COLUMNS).where('user_id', '=', userId).orderBy('created_at').execute()
}

/** How many devices a user has. */
export async function countDevices(db: AccountDb, userId: string): Promise<number> {
  return (await db.selectFrom('pulse_devices').select('id').where('user_id', '=', userId).execute()).length
}

/**
 * Ends every session of a device: its refresh tokens are revoked and its session epoch raised,
 * so the access tokens signed before stop working too. Call with the device's row locked.
 */
export async function endDeviceSessions(db: AccountDb, deviceId: string, at: string): Promise<void> {
  await db
    .updateTable('pulse_refresh_tokens')
    .set({ revoked_at: at })
    .where('device_id', '=', deviceId)
    .where('revoked_at', 'is', null)
    .execute()
  await db
    .updateTable('pulse_devices')
    .set((eb) => ({ session_epoch: eb('session_epoch', '+', 1) }))
    .where('id', '=', deviceId)
    .execute()
}

/**
 * Deletes a device (its sessions ended first, by the caller), with what sync kept for it as a
 * client (its clientId is its id): its last mid and its remembered refusals (§4).
 */
export async function deleteDevice(db: AccountDb, id: string): Promise<void> {
  await db.deleteFrom('pulse_devices').where('id', '=', id).execute()
  await db.deleteFrom('pulse_refusals').where('client_id', '=', id).execute()
  await db.deleteFrom('pulse_clients').where('client_id', '=', id).execute()
}

/** Stores a refresh token's hash. */
export async function insertRefresh(db: AccountDb, r: RefreshRow & { tokenHash: string; createdAt: string }): Promise<void> {
  await db
    .insertInto('pulse_refresh_tokens')
    .values({
      id: r.id,
      family_id: r.familyId,
      user_id: r.userId,
      device_id: r.deviceId,
      token_hash: r.tokenHash,
      expires_at: r.expiresAt,
      used_at: r.usedAt,
      revoked_at: r.revokedAt,
      created_at: r.createdAt,
    })
    .execute()
}

/** The refresh token with this hash, if any. */
export function findRefresh(db: AccountDb, tokenHash: string): Promise<RefreshRow | undefined> {
  return db
    .selectFrom('pulse_refresh_tokens')
    .select(['id', 'family_id as familyId', 'user_id as userId', 'device_id as deviceId', 'expires_at as expiresAt'])
    .select(['used_at as usedAt', 'revoked_at as revokedAt'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
}

/**
 * Marks a refresh token used if, and only if, it is still live (unused, unrevoked, unexpired):
 * one conditional update, so of many concurrent refreshes of one token exactly one gets true.
 */
export async function claimRefresh(db: AccountDb, id: string, at: string): Promise<boolean> {
  const claimed = await db
    .updateTable('pulse_refresh_tokens')
    .set({ used_at: at })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst()
  return claimed.numUpdatedRows > 0n
}

/** Revokes every live token of a refresh family; returns how many were live. */
export async function revokeRefreshFamily(db: AccountDb, familyId: string, at: string): Promise<number> {
  const revoked = await db
    .updateTable('pulse_refresh_tokens')
    .set({ revoked_at: at })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(revoked.numUpdatedRows)
}
