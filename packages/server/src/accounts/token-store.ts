/** Reads and writes of API tokens (PROTOCOL.md §9), stored hashed. */
import type { SqlBool } from 'kysely'
import type { AccountDb } from './account-tables.ts'

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

function selectTokens(db: AccountDb) {
  return db
    .selectFrom('pulse_api_tokens')
    .select(['id', 'name', 'org_id as orgId', 'is_admin as isAdmin', 'created_at as createdAt'])
    .select(['revoked_at as revokedAt', 'last_used_at as lastUsedAt'])
}

function toApiToken(row: Omit<ApiTokenRow, 'isAdmin'> & { isAdmin: SqlBool }): ApiTokenRow {
  return { ...row, isAdmin: Boolean(row.isAdmin) }
}

/** Stores an API token's hash. */
export async function insertApiToken(db: AccountDb, t: ApiTokenRow & { tokenHash: string }): Promise<void> {
  await db
    .insertInto('pulse_api_tokens')
    .values({
      id: t.id,
      name: t.name,
      token_hash: t.tokenHash,
      org_id: t.orgId,
      is_admin: t.isAdmin,
      created_at: t.createdAt,
      revoked_at: t.revokedAt,
      last_used_at: t.lastUsedAt,
    })
    .execute()
}

/** The API token with this hash, if any (revoked ones included). */
export async function findApiToken(db: AccountDb, tokenHash: string): Promise<ApiTokenRow | undefined> {
  const row = await selectTokens(db).where('token_hash', '=', tokenHash).executeTakeFirst()
  return row && toApiToken(row)
}

/** The API token with this id, if any (revoked ones included). */
export async function findApiTokenById(db: AccountDb, id: string): Promise<ApiTokenRow | undefined> {
  const row = await selectTokens(db).where('id', '=', id).executeTakeFirst()
  return row && toApiToken(row)
}

/** Every API token, newest first. */
export async function listApiTokens(db: AccountDb): Promise<ApiTokenRow[]> {
  return (await selectTokens(db).orderBy('created_at', 'desc').execute()).map(toApiToken)
}

/** Revokes an API token; true when it existed and was live. */
export async function revokeApiToken(db: AccountDb, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('pulse_api_tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Revokes every live API token of an organization; returns their ids. */
export async function revokeApiTokensOfOrg(db: AccountDb, orgId: string, at: string): Promise<string[]> {
  const revoked = await db
    .updateTable('pulse_api_tokens')
    .set({ revoked_at: at })
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute()
  return revoked.map((r) => r.id)
}

/** Records when an API token was last used. */
export async function touchApiToken(db: AccountDb, id: string, at: string): Promise<void> {
  await db.updateTable('pulse_api_tokens').set({ last_used_at: at }).where('id', '=', id).execute()
}
