/**
 * Pulse's account tables: users, organizations, memberships, invitations, devices, refresh
 * tokens, API tokens. Their rows typed (`AccountTables`, added to the storage's `Database`), and
 * their DDL, created and brought up to date by `ensureAccountTables` (idempotent; additive
 * steps only).
 */
import { type Generated, type Kysely, sql } from 'kysely'
import type { BoolColumn, Database } from '../storage/database.ts'
import type { Role } from './org-store.ts'

/** Rows of the account tables (timestamps as ISO text on both databases). */
export type AccountTables = {
  pulse_users: {
    id: string
    username: string
    email: string | null
    password_hash: string
    is_admin: BoolColumn
    scope_epoch: Generated<number>
    created_at: string
  }
  pulse_orgs: { id: string; name: string; created_at: string }
  pulse_members: { org_id: string; user_id: string; role: Role; created_at: string }
  /** §9: an invitation names a username (lower-cased), whether or not such a user exists. */
  pulse_invitations: {
    id: string
    org_id: string
    username_key: string
    role: Role
    invited_by: string | null
    created_at: string
    expires_at: string
  }
  pulse_devices: {
    id: string
    user_id: string
    name: string
    created_at: string
    last_seen_at: string | null
    session_epoch: Generated<number>
  }
  pulse_refresh_tokens: {
    id: string
    family_id: string
    user_id: string
    device_id: string
    token_hash: string
    expires_at: string
    used_at: string | null
    revoked_at: string | null
    created_at: string
  }
  pulse_api_tokens: {
    id: string
    name: string
    token_hash: string
    org_id: string | null
    is_admin: BoolColumn
    created_at: string
    revoked_at: string | null
    last_used_at: string | null
  }
}

/** Pulse's database with the account tables, bound to one transaction or read: what every account query runs on. */
export type AccountDb = Kysely<Database & AccountTables>

/**
 * Takes the row lock of `table`'s row `id` until the transaction ends (`FOR UPDATE`; SQLite
 * transactions already run one at a time), so that transactions changing what hangs off that
 * row (an organization's roles, a device's sessions) run one after another. False when there is
 * no such row.
 */
export async function lockRow(db: AccountDb, table: 'pulse_orgs' | 'pulse_devices', id: string): Promise<boolean> {
  return (await db.selectFrom(table).select('id').where('id', '=', id).forUpdate().executeTakeFirst()) !== undefined
}

/** What `ensureAccountTables` found that it could not fix by itself. */
export interface AccountTablesReport {
  /**
   * Usernames that differ only in case (from before usernames were compared case-insensitively).
   * While any exist, the unique index on `lower(username)` is not created; those accounts keep
   * working (a login prefers the exact spelling) and no new such pair can be registered.
   */
  caseDuplicates: string[]
}

/** Creates the account tables and their indexes when missing, and adds columns added since. */
export async function ensureAccountTables(db: AccountDb): Promise<AccountTablesReport> {
  const s = db.schema
  const statements = [
    s
      .createTable('pulse_users')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('email', 'text')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('is_admin', 'boolean', (c) => c.notNull())
      .addColumn('scope_epoch', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull()),
    s
      .createTable('pulse_orgs')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull()),
    s
      .createTable('pulse_members')
      .ifNotExists()
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pulse_members_pk', ['org_id', 'user_id']),
    s.createIndex('pulse_members_user').ifNotExists().on('pulse_members').column('user_id'),
    s
      .createTable('pulse_invitations')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('username_key', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('invited_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('pulse_invitations_org_username', ['org_id', 'username_key']),
    s.createIndex('pulse_invitations_username').ifNotExists().on('pulse_invitations').column('username_key'),
    s
      .createTable('pulse_devices')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text')
      .addColumn('session_epoch', 'integer', (c) => c.notNull().defaultTo(0)),
    s.createIndex('pulse_devices_user').ifNotExists().on('pulse_devices').column('user_id'),
    s
      .createTable('pulse_refresh_tokens')
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
    s.createIndex('pulse_refresh_family').ifNotExists().on('pulse_refresh_tokens').column('family_id'),
    s.createIndex('pulse_refresh_device').ifNotExists().on('pulse_refresh_tokens').column('device_id'),
    s
      .createTable('pulse_api_tokens')
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
  for (const statement of statements) await statement.execute()
  // Added after the first release: devices made before it start at epoch 0.
  const devices = (await db.introspection.getTables()).find((t) => t.name === 'pulse_devices')
  if (!devices?.columns.some((c) => c.name === 'session_epoch'))
    await s
      .alterTable('pulse_devices')
      .addColumn('session_epoch', 'integer', (c) => c.notNull().defaultTo(0))
      .execute()
  return { caseDuplicates: await indexUsernamesCaseInsensitively(db) }
}

/**
 * Usernames are compared case-insensitively: a unique index on `lower(username)` keeps "Ada"
 * from being registered beside "ada", on every path and under races. Usernames are ASCII (§9),
 * so SQL's `lower` and JavaScript's `toLowerCase` agree.
 */
async function indexUsernamesCaseInsensitively(db: AccountDb): Promise<string[]> {
  const found = await db
    .selectFrom('pulse_users')
    .select(sql<string>`lower(username)`.as('name'))
    .groupBy(sql`lower(username)`)
    .having(sql`count(*)`, '>', 1)
    .execute()
  if (found.length > 0) return found.map((r) => r.name)
  await db.schema
    .createIndex('pulse_users_username_lower')
    .ifNotExists()
    .unique()
    .on('pulse_users')
    .expression(sql`lower(username)`)
    .execute()
  return []
}
