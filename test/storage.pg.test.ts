/**
 * The storage conformance suite on PostgreSQL, plus what only PostgreSQL can get wrong. (The
 * SQLite run sits beside its implementation; this one needs the test database services.)
 */
import { defineModel, defineSchema, f, isPulseError, uuidv7 } from '@pulse/core'
import { createPostgresStorage, createStorage } from '@pulse/server'
import { runStorageSuite } from '@pulse/server/storage-suite'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL storage', () => {
  const schemas = usePgSchemas('storage')
  runStorageSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next(), poolSize: 8 }))

  it('refuses text PostgreSQL cannot store with validation_failed, never a raw driver error', async () => {
    const model = defineModel('texts', { fields: { s: f.string({ nullable: true }), j: f.json({ nullable: true }) } })
    const s = await createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() })
    try {
      await s.migrate(defineSchema([model]))
      const record = (values: Record<string, unknown>) => ({
        id: uuidv7(),
        version: 1,
        vclock: { d: 1 },
        createdAt: '2026-11-23T10:00:00.000Z',
        updatedAt: '2026-11-23T10:00:00.000Z',
        deletedAt: null,
        fieldVersions: {},
        values: { s: null, j: null, ...values },
      })
      // Past core validation (a storage-level call): the storage itself still answers clearly.
      for (const values of [{ s: 'a\u0000b' }, { j: { k: 'a\u0000' } }, { j: ['\ud800'] }]) {
        const err = await s
          .transaction((tx) => tx.insertRecords(model, [record(values)]))
          .then(
            () => undefined,
            (e: unknown) => e,
          )
        expect(isPulseError(err) && err.code, JSON.stringify(values)).toBe('validation_failed')
      }
      expect(await s.listRecords(model, { limit: 10 })).toEqual([])
    } finally {
      await s.close()
    }
  })

  it('upgrades a storage-format-2 database: positions are claimed by the function migrate creates', async () => {
    const s = await createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() })
    const entry = { model: 'x', recordId: uuidv7(), version: 1, ownerId: null, orgId: null, deleted: false }
    try {
      await s.migrate(defineSchema([]))
      const [first] = await s.transaction((tx) => tx.appendChanges([entry]))
      // Format 2 as it was: no claiming function (positions were drawn under a lock).
      await s.sql.transaction(async (db) => {
        await sql`DROP FUNCTION "pulse_claim_positions"`.execute(db)
        await db.updateTable('pulse_meta').set({ value: '2' }).where('key', '=', 'storage_format').execute()
      })
      await expect(s.transaction((tx) => tx.appendChanges([entry]))).rejects.toThrow()
      await s.migrate(defineSchema([]))
      const format = await s.sql.read((db) =>
        db.selectFrom('pulse_meta').select('value').where('key', '=', 'storage_format').executeTakeFirst(),
      )
      expect(format?.value).toBe('5') // the latest: 3 made the claiming function, 4 the refusals table, 5 removals per scope
      const [second] = await s.transaction((tx) => tx.appendChanges([{ ...entry, version: 2 }]))
      expect(second).toBeGreaterThan(first as number)
      expect(await s.headPosition()).toBe(second)
    } finally {
      await s.close()
    }
  })

  it('creates its schema, and createStorage picks PostgreSQL for postgres:// URLs', async () => {
    const schema = schemas.next()
    const s = await createStorage(pgUrl(), { schema })
    expect(s.kind).toBe('postgres')
    await s.migrate(defineSchema([]))
    await s.probe()
    await s.close()
  })
})

describe('PostgreSQL storage without a server', () => {
  it('maps a refused connection to database_unavailable without credentials in the message', async () => {
    const s = await createPostgresStorage({ connectionString: 'postgres://pulse:secret@127.0.0.1:1/nope' })
    const err = await s.probe().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPulseError(err) && err.code === 'database_unavailable').toBe(true)
    expect((err as Error).message).not.toContain('secret')
    await s.close()
  })
})
