/**
 * The storage conformance suite on PostgreSQL, plus what only PostgreSQL can get wrong. (The
 * SQLite run sits beside its implementation; this one needs the test database services.)
 */
import { defineModel, defineSchema, f, isPulseError, uuidv7 } from '@pulse/core'
import { createPostgresStorage, createStorage } from '@pulse/server'
import { runStorageSuite } from '@pulse/server/storage-suite'
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
