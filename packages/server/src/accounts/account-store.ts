/**
 * Reads and writes of the account tables, each run inside a `Storage.sqlTransaction` context.
 * Queries are written once with the dialect's builder; values are plain strings, numbers and
 * booleans (booleans as 0/1 on SQLite).
 */
import type { Compilable } from 'kysely'
import type { SqlContext } from '../storage/sql-executor.ts'
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

/** Membership roles (§9). */
export type Role = 'owner' | 'admin' | 'member'
export const ROLES: readonly Role[] = ['owner', 'admin', 'member']

/** One of a user's organizations. */
export interface Membership {
  orgId: string
  name: string
  role: Role
}

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

/** A stored API token (hashed). */
export interface ApiTokenRow {
  id: string
  name: string
  orgId: string | null
  isAdmin: boolean
  createdAt: string
  revokedAt: string | null
  lastUsedAt: string | null
}

async function rows(ctx: SqlContext, q: Compilable): Promise<Record<string, unknown>[]> {
  const c = q.compile()
  return ctx.exec.query(c.sql, c.parameters)
}

async function run(ctx: SqlContext, q: Compilable): Promise<void> {
  const c = q.compile()
  await ctx.exec.run(c.sql, c.parameters)
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))
const bool = (ctx: SqlContext, v: boolean): boolean | number => (ctx.dialect.codec.booleanAsInteger ? (v ? 1 : 0) : v)

function toUser(r: Record<string, unknown>): UserRow {
  return {
    id: String(r.id),
    username: String(r.username),
    email: str(r.email),
    passwordHash: String(r.password_hash),
    isAdmin: r.is_admin === true || r.is_admin === 1,
    scopeEpoch: Number(r.scope_epoch ?? 0),
    createdAt: String(r.created_at),
  }
}

/** The user with this username (exact match), if any. */
export async function findUserByName(ctx: SqlContext, username: string): Promise<UserRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.users).selectAll().where('username', '=', username))
  return r ? toUser(r) : undefined
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

/** Raises a user's scope epoch (their memberships changed). */
export async function bumpScopeEpoch(ctx: SqlContext, userId: string): Promise<void> {
  const { builder } = ctx.dialect
  const [r] = await rows(ctx, builder.selectFrom(T.users).select('scope_epoch').where('id', '=', userId))
  await run(
    ctx,
    builder
      .updateTable(T.users)
      .set({ scope_epoch: Number(r?.scope_epoch ?? 0) + 1 })
      .where('id', '=', userId),
  )
}

/** A user's organizations with their role. */
export async function membershipsOf(ctx: SqlContext, userId: string): Promise<Membership[]> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.members} as m`)
      .innerJoin(`${T.orgs} as o`, 'o.id', 'm.org_id')
      .select(['m.org_id as org_id', 'o.name as name', 'm.role as role'])
      .where('m.user_id', '=', userId)
      .orderBy('o.name'),
  )
  return found.map((r) => ({ orgId: String(r.org_id), name: String(r.name), role: String(r.role) as Role }))
}

/** Creates an organization. */
export async function insertOrg(ctx: SqlContext, org: { id: string; name: string; createdAt: string }): Promise<void> {
  await run(ctx, ctx.dialect.builder.insertInto(T.orgs).values({ id: org.id, name: org.name, created_at: org.createdAt }))
}

/** The organization, if any. */
export async function findOrg(ctx: SqlContext, id: string): Promise<{ id: string; name: string } | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.orgs).selectAll().where('id', '=', id))
  return r ? { id: String(r.id), name: String(r.name) } : undefined
}

/** A user's role in an organization, if a member. */
export async function roleIn(ctx: SqlContext, orgId: string, userId: string): Promise<Role | undefined> {
  const [r] = await rows(
    ctx,
    ctx.dialect.builder.selectFrom(T.members).select('role').where('org_id', '=', orgId).where('user_id', '=', userId),
  )
  return r ? (String(r.role) as Role) : undefined
}

/** Adds a member, or changes the role of an existing one. */
export async function putMember(ctx: SqlContext, orgId: string, userId: string, role: Role, at: string): Promise<void> {
  const { builder } = ctx.dialect
  await run(
    ctx,
    builder
      .insertInto(T.members)
      .values({ org_id: orgId, user_id: userId, role, created_at: at })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role })),
  )
}

/** Removes a member; true when there was one. */
export async function deleteMember(ctx: SqlContext, orgId: string, userId: string): Promise<boolean> {
  const found = await rows(
    ctx,
    ctx.dialect.builder.deleteFrom(T.members).where('org_id', '=', orgId).where('user_id', '=', userId).returning('user_id'),
  )
  return found.length > 0
}

/** How many owners an organization has. */
export async function countOwners(ctx: SqlContext, orgId: string): Promise<number> {
  const found = await rows(
    ctx,
    ctx.dialect.builder.selectFrom(T.members).select('user_id').where('org_id', '=', orgId).where('role', '=', 'owner'),
  )
  return found.length
}

/** Users who share an organization with `userId` (themselves included), with those organizations' ids. */
export async function usersSharingOrgs(
  ctx: SqlContext,
  orgIds: readonly string[],
): Promise<{ id: string; username: string; email: string | null }[]> {
  if (orgIds.length === 0) return []
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.members} as m`)
      .innerJoin(`${T.users} as u`, 'u.id', 'm.user_id')
      .select(['u.id as id', 'u.username as username', 'u.email as email'])
      .where('m.org_id', 'in', [...orgIds])
      .distinct()
      .orderBy('u.username'),
  )
  return found.map((r) => ({ id: String(r.id), username: String(r.username), email: str(r.email) }))
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

/** Registers a device. */
export async function insertDevice(ctx: SqlContext, d: DeviceRow): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder
      .insertInto(T.devices)
      .values({ id: d.id, user_id: d.userId, name: d.name, created_at: d.createdAt, last_seen_at: d.lastSeenAt }),
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

/** Marks a refresh token used (it rotated). */
export async function markRefreshUsed(ctx: SqlContext, id: string, at: string): Promise<void> {
  await run(ctx, ctx.dialect.builder.updateTable(T.refreshTokens).set({ used_at: at }).where('id', '=', id))
}

/** Revokes every token of a refresh family (logout, or a replayed token). */
export async function revokeRefreshFamily(ctx: SqlContext, familyId: string, at: string): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder
      .updateTable(T.refreshTokens)
      .set({ revoked_at: at })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null),
  )
}

function toApiToken(r: Record<string, unknown>): ApiTokenRow {
  return {
    id: String(r.id),
    name: String(r.name),
    orgId: str(r.org_id),
    isAdmin: r.is_admin === true || r.is_admin === 1,
    createdAt: String(r.created_at),
    revokedAt: str(r.revoked_at),
    lastUsedAt: str(r.last_used_at),
  }
}

/** Stores an API token's hash. */
export async function insertApiToken(ctx: SqlContext, t: ApiTokenRow & { tokenHash: string }): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder.insertInto(T.apiTokens).values({
      id: t.id,
      name: t.name,
      token_hash: t.tokenHash,
      org_id: t.orgId,
      is_admin: bool(ctx, t.isAdmin),
      created_at: t.createdAt,
      revoked_at: t.revokedAt,
      last_used_at: t.lastUsedAt,
    }),
  )
}

/** The API token with this hash, if any (revoked ones included). */
export async function findApiToken(ctx: SqlContext, tokenHash: string): Promise<ApiTokenRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.apiTokens).selectAll().where('token_hash', '=', tokenHash))
  return r ? toApiToken(r) : undefined
}

/** Every API token, newest first. */
export async function listApiTokens(ctx: SqlContext): Promise<ApiTokenRow[]> {
  return (await rows(ctx, ctx.dialect.builder.selectFrom(T.apiTokens).selectAll().orderBy('created_at', 'desc'))).map(toApiToken)
}

/** Revokes an API token; true when it existed and was live. */
export async function revokeApiToken(ctx: SqlContext, id: string, at: string): Promise<boolean> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .updateTable(T.apiTokens)
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('id'),
  )
  return found.length > 0
}
