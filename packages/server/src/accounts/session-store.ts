/**
 * Reads and writes of devices and refresh tokens (PROTOCOL.md §9). A device's session epoch
 * goes into every access token signed for it; raising it ends every session of the device.
 */
import { sql } from 'kysely'
import type { SqlContext } from '../storage/sql-executor.ts'
import { rows, run, str } from './account-sql.ts'
import { ACCOUNT_TABLES as T } from './account-tables.ts'
import { toUser, type UserRow } from './user-store.ts'

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

function toDevice(r: Record<string, unknown>): DeviceRow {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    name: String(r.name),
    createdAt: String(r.created_at),
    lastSeenAt: str(r.last_seen_at),
  }
}

/** The device, if any. */
export async function findDevice(ctx: SqlContext, id: string): Promise<DeviceRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.devices).selectAll().where('id', '=', id))
  return r ? toDevice(r) : undefined
}

/** A device's session epoch, if the device exists. */
export async function deviceEpoch(ctx: SqlContext, id: string): Promise<number | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.devices).select('session_epoch').where('id', '=', id))
  return r ? Number(r.session_epoch ?? 0) : undefined
}

/**
 * One read for every authenticated request: the user and the session epoch of their device;
 * undefined when either is gone or the device is someone else's.
 */
export async function findUserAndDevice(
  ctx: SqlContext,
  userId: string,
  deviceId: string,
): Promise<{ user: UserRow; epoch: number } | undefined> {
  const [r] = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.users} as u`)
      .innerJoin(`${T.devices} as d`, 'd.user_id', 'u.id')
      .selectAll('u')
      .select('d.session_epoch as device_epoch')
      .where('u.id', '=', userId)
      .where('d.id', '=', deviceId),
  )
  return r ? { user: toUser(r), epoch: Number(r.device_epoch ?? 0) } : undefined
}

/** Registers a device. */
export async function insertDevice(ctx: SqlContext, d: DeviceRow): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder
      .insertInto(T.devices)
      .values({ id: d.id, user_id: d.userId, name: d.name, created_at: d.createdAt, last_seen_at: d.lastSeenAt, session_epoch: 0 }),
  )
}

/** Records that a device was seen now. */
export async function touchDevice(ctx: SqlContext, id: string, at: string): Promise<void> {
  await run(ctx, ctx.dialect.builder.updateTable(T.devices).set({ last_seen_at: at }).where('id', '=', id))
}

/** A user's devices, oldest first. */
export async function devicesOf(ctx: SqlContext, userId: string): Promise<DeviceRow[]> {
  return (await rows(ctx, ctx.dialect.builder.selectFrom(T.devices).selectAll().where('user_id', '=', userId).orderBy('created_at'))).map(
    toDevice,
  )
}

/** How many devices a user has. */
export async function countDevices(ctx: SqlContext, userId: string): Promise<number> {
  return (await rows(ctx, ctx.dialect.builder.selectFrom(T.devices).select('id').where('user_id', '=', userId))).length
}

/**
 * Ends every session of a device: its refresh tokens are revoked and its session epoch raised,
 * so the access tokens signed before stop working too. Call with the device's row locked.
 */
export async function endDeviceSessions(ctx: SqlContext, deviceId: string, at: string): Promise<void> {
  const { builder } = ctx.dialect
  await run(
    ctx,
    builder.updateTable(T.refreshTokens).set({ revoked_at: at }).where('device_id', '=', deviceId).where('revoked_at', 'is', null),
  )
  await run(ctx, builder.updateTable(T.devices).set({ session_epoch: sql`session_epoch + 1` }).where('id', '=', deviceId))
}

/** Deletes a device (its sessions ended first, by the caller). */
export async function deleteDevice(ctx: SqlContext, id: string): Promise<void> {
  await run(ctx, ctx.dialect.builder.deleteFrom(T.devices).where('id', '=', id))
}

/** Stores a refresh token's hash. */
export async function insertRefresh(ctx: SqlContext, r: RefreshRow & { tokenHash: string; createdAt: string }): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder.insertInto(T.refreshTokens).values({
      id: r.id,
      family_id: r.familyId,
      user_id: r.userId,
      device_id: r.deviceId,
      token_hash: r.tokenHash,
      expires_at: r.expiresAt,
      used_at: r.usedAt,
      revoked_at: r.revokedAt,
      created_at: r.createdAt,
    }),
  )
}

/** The refresh token with this hash, if any. */
export async function findRefresh(ctx: SqlContext, tokenHash: string): Promise<RefreshRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.refreshTokens).selectAll().where('token_hash', '=', tokenHash))
  if (!r) return undefined
  return {
    id: String(r.id),
    familyId: String(r.family_id),
    userId: String(r.user_id),
    deviceId: String(r.device_id),
    expiresAt: String(r.expires_at),
    usedAt: str(r.used_at),
    revokedAt: str(r.revoked_at),
  }
}

/**
 * Marks a refresh token used if, and only if, it is still live (unused, unrevoked, unexpired):
 * one conditional update, so of many concurrent refreshes of one token exactly one gets true.
 */
export async function claimRefresh(ctx: SqlContext, id: string, at: string): Promise<boolean> {
  const claimed = await rows(
    ctx,
    ctx.dialect.builder
      .updateTable(T.refreshTokens)
      .set({ used_at: at })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', at)
      .returning('id'),
  )
  return claimed.length > 0
}

/** Revokes every live token of a refresh family; returns how many were live. */
export async function revokeRefreshFamily(ctx: SqlContext, familyId: string, at: string): Promise<number> {
  const revoked = await rows(
    ctx,
    ctx.dialect.builder
      .updateTable(T.refreshTokens)
      .set({ revoked_at: at })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .returning('id'),
  )
  return revoked.length
}
