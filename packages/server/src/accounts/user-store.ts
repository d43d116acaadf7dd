/** Reads and writes of users (PROTOCOL.md §9). Usernames are matched case-insensitively. */
import { sql } from 'kysely'
import type { SqlContext } from '../storage/sql-executor.ts'
import { bool, isTrue, rows, run, str } from './account-sql.ts'
import { ACCOUNT_TABLES as T } from './account-tables.ts'

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

/** Maps a `pulse_users` row (columns possibly prefixed by a join) to a UserRow. */
export function toUser(r: Record<string, unknown>): UserRow {
  return {
    id: String(r.id),
    username: String(r.username),
    email: str(r.email),
    passwordHash: String(r.password_hash),
    isAdmin: isTrue(r.is_admin),
    scopeEpoch: Number(r.scope_epoch ?? 0),
    createdAt: String(r.created_at),
  }
}

/**
 * The user with this username in any case, if any. Should several differ only in case (rows
 * from before names were compared case-insensitively), the exact spelling wins, else the oldest.
 */
export async function findUserByName(ctx: SqlContext, username: string): Promise<UserRow | undefined> {
  const found = await rows(
    ctx,
    ctx.dialect.builder.selectFrom(T.users).selectAll().where(sql`lower(username)`, '=', username.toLowerCase()).orderBy('created_at'),
  )
  const exact = found.find((r) => r.username === username) ?? found[0]
  return exact ? toUser(exact) : undefined
}

/** The user with this id, if any. */
export async function findUserById(ctx: SqlContext, id: string): Promise<UserRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.users).selectAll().where('id', '=', id))
  return r ? toUser(r) : undefined
}

/** Inserts a user. */
export async function insertUser(ctx: SqlContext, u: UserRow): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder.insertInto(T.users).values({
      id: u.id,
      username: u.username,
      email: u.email,
      password_hash: u.passwordHash,
      is_admin: bool(ctx, u.isAdmin),
      scope_epoch: u.scopeEpoch,
      created_at: u.createdAt,
    }),
  )
}

/** Raises users' scope epochs (their memberships changed). */
export async function bumpScopeEpoch(ctx: SqlContext, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return
  await run(
    ctx,
    ctx.dialect.builder
      .updateTable(T.users)
      .set({ scope_epoch: sql`scope_epoch + 1` })
      .where('id', 'in', [...userIds]),
  )
}
