/** Reads and writes of API tokens (PROTOCOL.md §9), stored hashed. */
import type { SqlContext } from '../storage/sql-executor.ts'
import { bool, isTrue, rows, run, str } from './account-sql.ts'
import { ACCOUNT_TABLES as T } from './account-tables.ts'

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

function toApiToken(r: Record<string, unknown>): ApiTokenRow {
  return {
    id: String(r.id),
    name: String(r.name),
    orgId: str(r.org_id),
    isAdmin: isTrue(r.is_admin),
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

/** The API token with this id, if any (revoked ones included). */
export async function findApiTokenById(ctx: SqlContext, id: string): Promise<ApiTokenRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.apiTokens).selectAll().where('id', '=', id))
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

/** Revokes every live API token of an organization; returns their ids. */
export async function revokeApiTokensOfOrg(ctx: SqlContext, orgId: string, at: string): Promise<string[]> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .updateTable(T.apiTokens)
      .set({ revoked_at: at })
      .where('org_id', '=', orgId)
      .where('revoked_at', 'is', null)
      .returning('id'),
  )
  return found.map((r) => String(r.id))
}

/** Records when an API token was last used. */
export async function touchApiToken(ctx: SqlContext, id: string, at: string): Promise<void> {
  await run(ctx, ctx.dialect.builder.updateTable(T.apiTokens).set({ last_used_at: at }).where('id', '=', id))
}
