/**
 * Pulse's account tables, written once with the dialect's query builder: users, organizations,
 * memberships, devices, refresh tokens, API tokens. Created by `ensureAccountTables` (idempotent).
 */
import type { SqlContext } from '../storage/sql-executor.ts'

/** Table names. */
export const ACCOUNT_TABLES = {
  users: 'pulse_users',
  orgs: 'pulse_orgs',
  members: 'pulse_members',
  devices: 'pulse_devices',
  refreshTokens: 'pulse_refresh_tokens',
  apiTokens: 'pulse_api_tokens',
} as const

const T = ACCOUNT_TABLES

/** Creates the account tables and their indexes when missing. */
export async function ensureAccountTables(ctx: SqlContext): Promise<void> {
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
    s
      .createTable(T.devices)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text'),
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
}
