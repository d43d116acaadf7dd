/** Reads and writes of users (PROTOCOL.md §9). Usernames are matched case-insensitively. */
import { type SqlBool, sql } from 'kysely'
import type { AccountDb } from './account-tables.ts'

/** A user row. */
export interface UserRow {
  id: string
  username: string
  email: string | null
  passwordHash: string
  isAdmin: boolean
  /** Raised whenever the user's memberships change: older cursors answer `scope_changed` (§8). */
  scopeEpoch: number
  createdAt: string
}

/** The columns of `pulse_users` (aliased `u`) as a UserRow's fields. */
export const USER_COLUMNS = [
  'u.id',
  'u.username',
  'u.email',
  'u.password_hash as passwordHash',
  'u.is_admin as isAdmin',
  'u.scope_epoch as scopeEpoch',
  'u.created_at as createdAt',
] as const

/** A row selected with USER_COLUMNS as a UserRow. */
export function toUser(row: Omit<UserRow, 'isAdmin'> & { isAdmin: SqlBool }): UserRow {
  return { ...row, isAdmin: Boolean(row.isAdmin) }
}

/**
 * The user with this username in any case, if any. Should several differ only in case (rows
 * from before names were compared case-insensitively), the exact spelling wins, else the oldest.
 */
export async function findUserByName(db: AccountDb, username: string): Promise<UserRow | undefined> {
  const found = await db
    .selectFrom('pulse_users as u')
    .select(USER_COLUMNS)
    .where(sql`lower(username)`, '=', username.toLowerCase())
    .orderBy('created_at')
    .execute()
  const exact = found.find((r) => r.username === username) ?? found[0]
  return exact && toUser(exact)
}

/** The user with this id, if any. */
export async function findUserById(db: AccountDb, id: string): Promise<UserRow | undefined> {
  const row = await db.selectFrom('pulse_users as u').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst()
  return row && toUser(row)
}

/** Inserts a user. */
export async function insertUser(db: AccountDb, u: UserRow): Promise<void> {
  await db
    .insertInto('pulse_users')
    .values({
      id: u.id,
      username: u.username,
      email: u.email,
      password_hash: u.passwordHash,
      is_admin: u.isAdmin,
      scope_epoch: u.scopeEpoch,
      created_at: u.createdAt,
    })
    .execute()
}

/**
 * Raises users' scope epochs (their memberships changed); returns each one's new epoch, for the
 * `membership_changed` message (a socket that authenticated at it already has the new scope).
 */
export async function bumpScopeEpoch(db: AccountDb, userIds: readonly string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map()
  // Locked in id order first, as writes lock them (`StorageTx.lockUsers`): no deadlock between them.
  await db
    .selectFrom('pulse_users')
    .select('id')
    .where('id', 'in', [...userIds])
    .orderBy('id')
    .forUpdate()
    .execute()
  const rows = await db
    .updateTable('pulse_users')
    .set((eb) => ({ scope_epoch: eb('scope_epoch', '+', 1) }))
    .where('id', 'in', [...userIds])
    .returning(['id', 'scope_epoch'])
    .execute()
  return new Map(rows.map((r) => [r.id, Number(r.scope_epoch)]))
}
