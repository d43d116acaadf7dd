/**
 * Account tables made by an earlier version are brought up to date on start: devices
 * gain their session epoch, usernames become unique regardless of case when they already are,
 * and a database holding names that differ only in case keeps working (logins prefer the exact
 * spelling) and is reported rather than rewritten. On SQLite and PostgreSQL.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema } from '@pulse/core'
import { createAccessTokens, createAccounts, createPostgresStorage, createSqliteStorage, type SqlStorage } from '@pulse/server'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()
const PASSWORD = 'correct horse battery staple'

/** The account tables as the first release made them (no session epoch, no lower(username) index). */
const FIRST_RELEASE = [
  'CREATE TABLE pulse_users (id text PRIMARY KEY, username text NOT NULL UNIQUE, email text, password_hash text NOT NULL, is_admin boolean NOT NULL, scope_epoch integer NOT NULL DEFAULT 0, created_at text NOT NULL)',
  'CREATE TABLE pulse_devices (id text PRIMARY KEY, user_id text NOT NULL, name text NOT NULL, created_at text NOT NULL, last_seen_at text)',
]

function runMigrationTests(label: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`account tables from an earlier version on ${label}`, () => {
    const open = async () => {
      const storage = await makeStorage()
      await storage.migrate(defineSchema(config.models)) // the database's own schema, as a start does first
      const accounts = createAccounts({
        storage,
        tokens: createAccessTokens(new TextEncoder().encode('k'.repeat(40))),
        allowRegistration: true,
      })
      return { storage, accounts }
    }

    it('adds what is missing and makes usernames unique regardless of case', async () => {
      const { storage, accounts } = await open()
      try {
        await storage.sql.transaction(async (db) => {
          for (const ddl of FIRST_RELEASE) await sql.raw(ddl).execute(db)
        })
        expect((await accounts.migrate()).caseDuplicates).toEqual([])
        await accounts.createUser({ username: 'Ada', password: PASSWORD })
        await expect(accounts.createUser({ username: 'ADA', password: PASSWORD })).rejects.toMatchObject({ code: 'already_exists' })
        const session = await accounts.login({ username: 'ada', password: PASSWORD }, '127.0.0.1')
        expect(session.user.username).toBe('Ada')
        // The device made after the migration has a session epoch: logout ends it.
        await accounts.logout(session.refresh)
        await expect(accounts.actorForAccessToken(session.access)).rejects.toMatchObject({ code: 'unauthenticated' })
      } finally {
        await storage.close()
      }
    })

    it('keeps names that differ only in case working, and reports them', async () => {
      const { storage, accounts } = await open()
      try {
        await storage.sql.transaction(async (db) => {
          for (const ddl of FIRST_RELEASE) await sql.raw(ddl).execute(db)
        })
        await accounts.migrate()
        // Rows an earlier version let in (the case-insensitive index is dropped to write them).
        await storage.sql.transaction((db) => db.schema.dropIndex('pulse_users_username_lower').execute())
        const first = await accounts.createUser({ username: 'grace', password: PASSWORD })
        const twin = '0190a6f0-0000-7000-8000-000000000001'
        await storage.sql.transaction((db) =>
          sql`INSERT INTO pulse_users (id, username, password_hash, is_admin, scope_epoch, created_at) SELECT ${twin}, 'Grace', password_hash, is_admin, 0, created_at FROM pulse_users WHERE id = ${first.id}`.execute(
            db,
          ),
        )
        expect((await accounts.migrate()).caseDuplicates).toEqual(['grace'])
        expect((await accounts.login({ username: 'Grace', password: PASSWORD }, '127.0.0.1')).user.id).toBe(twin)
        expect((await accounts.login({ username: 'grace', password: PASSWORD }, '127.0.0.1')).user.id).toBe(first.id)
        await expect(accounts.createUser({ username: 'GRACE', password: PASSWORD })).rejects.toMatchObject({ code: 'already_exists' })
      } finally {
        await storage.close()
      }
    })
  })
}

runMigrationTests('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-accounts-')), 'pulse.db') }))

describe.skipIf(!pg)('on PostgreSQL', () => {
  const schemas = usePgSchemas('accounts_migration')
  runMigrationTests('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
