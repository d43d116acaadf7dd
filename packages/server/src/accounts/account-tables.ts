/**
 * Pulse's account tables, written once with the dialect's query builder: users, organizations,
 * memberships, invitations, devices, refresh tokens, API tokens. Created and brought up to date
 * by `ensureAccountTables` (idempotent; additive steps only).
 */
import { sql } from 'kysely'
import type { SqlContext } from '../storage/sql-executor.ts'

/** Table names. */
export const ACCOUNT_TABLES = {
  users: 'pulse_users',
  orgs: 'pulse_orgs',
  members: 'pulse_members',
  invitations: 'pulse_invitations',
  devices: 'pulse_devices',
  refreshTokens: 'pulse_refresh_tokens',
  apiTokens: 'pulse_api_tokens',
} as const

const T = ACCOUNT_TABLES

/** What `ensureAccountTables` found that it could not fix by itself. */
export interface AccountTablesReport {
  /**
   * Usernames that differ only in case (from before usernames were compared case-insensitively).
   * While any exist, the unique index on `lower(username)` is not created; those accounts keep
   * working (a login prefers the exact spelling) and no new such pair can be registered.
   */
  caseDuplicates: string[]
}

async function columnsOf(ctx: SqlContext, table: string): Promise<Set<string>> {
  const rows =
    ctx.dialect.name === 'sqlite'
      ? await ctx.exec.query('SELECT name AS column_name FROM pragma_table_info(?)', [table])
      : await ctx.exec.query(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        )
  return new Set(rows.map((r) => String(r.column_name)))
}

/** Adds a column to a table made by an earlier version, when it is missing. */
async function addColumn(ctx: SqlContext, table: string, column: string, definition: string): Promise<void> {
  if (ctx.dialect.name === 'postgres') {
    await ctx.exec.run(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS "${column}" ${definition}`)
    return
  }
  if (!(await columnsOf(ctx, table)).has(column)) await ctx.exec.run(`ALTER TABLE "${table}" ADD COLUMN "${column}" ${definition}`)
}

/** Creates the account tables and their indexes when missing, and adds columns added since. */
export async function ensureAccountTables(ctx: SqlContext): Promise<AccountTablesReport> {
  const s = ctx.dialect.builder.schema
  const statements = [
    s
      .createTable(T.users)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('email', 'text')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('is_admin', 'boolean', (c) => c.notNull())
      .addColumn('scope_epoch', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull()),
    s
      .createTable(T.orgs)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull()),
    s
      .createTable(T.members)
      .ifNotExists()
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pulse_members_pk', ['org_id', 'user_id']),
    s.createIndex('pulse_members_user').ifNotExists().on(T.members).column('user_id'),
    // §9: an invitation names a username (lower-cased), whether or not such a user exists.
    s
      .createTable(T.invitations)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('username_key', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('invited_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('pulse_invitations_org_username', ['org_id', 'username_key']),
    s.createIndex('pulse_invitations_username').ifNotExists().on(T.invitations).column('username_key'),
    s
      .createTable(T.devices)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text')
      .addColumn('session_epoch', 'integer', (c) => c.notNull().defaultTo(0)),
    s.createIndex('pulse_devices_user').ifNotExists().on(T.devices).column('user_id'),
    s
      .createTable(T.refreshTokens)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('family_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull()),
    s.createIndex('pulse_refresh_family').ifNotExists().on(T.refreshTokens).column('family_id'),
    s.createIndex('pulse_refresh_device').ifNotExists().on(T.refreshTokens).column('device_id'),
    s
      .createTable(T.apiTokens)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('org_id', 'text')
      .addColumn('is_admin', 'boolean', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text'),
  ]
  for (const statement of statements) {
    const q = statement.compile()
    await ctx.exec.run(q.sql, q.parameters)
  }
  // Added after the first release: devices made before it start at epoch 0.
  await addColumn(ctx, T.devices, 'session_epoch', 'integer NOT NULL DEFAULT 0')
  return { caseDuplicates: await indexUsernamesCaseInsensitively(ctx) }
}

/**
 * Usernames are compared case-insensitively (issue 8): a unique index on `lower(username)`
 * keeps "Ada" from being registered beside "ada", on every path and under races. Usernames are
 * ASCII (§9), so SQL's `lower` and JavaScript's `toLowerCase` agree.
 */
async function indexUsernamesCaseInsensitively(ctx: SqlContext): Promise<string[]> {
  const { builder } = ctx.dialect
  const dupes = builder
    .selectFrom(T.users)
    .select(sql<string>`lower(username)`.as('name'))
    .groupBy(sql`lower(username)`)
    .having(sql`count(*)`, '>', 1)
    .compile()
  const found = (await ctx.exec.query(dupes.sql, dupes.parameters)).map((r) => String(r.name))
  if (found.length > 0) return found
  const index = builder.schema.createIndex('pulse_users_username_lower').ifNotExists().unique().on(T.users).expression(sql`lower(username)`)
  const q = index.compile()
  await ctx.exec.run(q.sql, q.parameters)
  return []
}
