/**
 * Group commit of single writes (issue 12), at the engine: concurrent `writeOne` calls share a
 * transaction; a database failure in one request's writes fails that request alone; the queue
 * is bounded. On SQLite and PostgreSQL.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema, isPulseError } from '@pulse/core'
import { type CommittedChange, createEngine, createPostgresStorage, createSqliteStorage, type Storage, systemContext } from '@pulse/server'
import { afterEach, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const schema = defineSchema(config.models)
const ctx = systemContext()
const ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'

/** The storage, counting its transactions, whose inserts of a task titled `boom` fail as a broken disk would. */
function instrumented(storage: Storage): { storage: Storage; transactions: () => number; inserts: () => number } {
  let transactions = 0
  let inserts = 0
  const wrapped: Storage = Object.create(storage)
  wrapped.transaction = (fn, signal) => {
    transactions += 1
    return storage.transaction(
      (tx) =>
        fn({
          ...tx,
          insertRecords: (model, records) => {
            inserts += 1
            return records.some((r) => r.values.title === 'boom')
              ? Promise.reject(new Error('disk on fire'))
              : tx.insertRecords(model, records)
          },
        }),
      signal,
    )
  }
  return { storage: wrapped, transactions: () => transactions, inserts: () => inserts }
}

function suite(name: string, make: () => Promise<Storage>): void {
  describe(`group commit on ${name}`, () => {
    const opened: Storage[] = []
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close()
    })

    async function setup(groupCommit?: { maxQueued?: number; maxBatch?: number }) {
      const base = await make()
      opened.push(base)
      await base.migrate(schema)
      const { storage, transactions, inserts } = instrumented(base)
      const engine = createEngine({ storage, schema, ...(groupCommit ? { groupCommit } : {}) })
      const heard: CommittedChange[] = []
      engine.onCommit((changes) => heard.push(...changes))
      return { base, engine, transactions, inserts, heard }
    }

    it('commits concurrent single writes in one transaction, each answered with its own record', async () => {
      const { engine, transactions, inserts, heard } = await setup()
      const written = await Promise.all(
        Array.from({ length: 16 }, (_, i) => engine.writeOne(ctx, { op: 'create', model: 'task', data: { title: `t${i}`, orgId: ORG } })),
      )
      expect(written.map((w) => w.record.values.title)).toEqual(Array.from({ length: 16 }, (_, i) => `t${i}`))
      expect(transactions()).toBe(1)
      // One statement for the group's sixteen records, not one a request.
      expect(inserts()).toBe(1)
      expect(heard.map((c) => c.record.id).sort()).toEqual(written.map((w) => w.record.id).sort())
      // Positions follow the order the writes were answered in.
      const seqOf = new Map(heard.map((c) => [c.record.id, c.seq]))
      const seqs = written.map((w) => seqOf.get(w.record.id) as number)
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
    })

    it('fails only the write whose persist the database refused; the others commit', async () => {
      const { base, engine, heard } = await setup()
      const titles = ['one', 'two', 'boom', 'three', 'four']
      const settled = await Promise.allSettled(
        titles.map((title) => engine.writeOne(ctx, { op: 'create', model: 'task', data: { title, orgId: ORG } })),
      )
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
      const task = schema.model('task')
      const stored = await base.listRecords(task, { limit: 100 })
      expect(stored.map((r) => r.values.title).sort()).toEqual(['four', 'one', 'three', 'two'])
      expect(heard.map((c) => c.record.values.title).sort()).toEqual(['four', 'one', 'three', 'two'])
      // A refusal stays its request's own too.
      const [bad, good] = await Promise.allSettled([
        engine.writeOne(ctx, { op: 'update', model: 'task', id: stored[0]?.id as string, data: { title: 'x' }, ifVersion: 7 }),
        engine.writeOne(ctx, { op: 'create', model: 'task', data: { title: 'five', orgId: ORG } }),
      ])
      expect(bad.status === 'rejected' && isPulseError(bad.reason) && bad.reason.code).toBe('version_conflict')
      expect(good.status).toBe('fulfilled')
    })

    it('a record several requests of one group write is read once, written once in its final state, with every version in history', async () => {
      const { base, engine, transactions, heard } = await setup()
      const task = schema.model('task')
      const made = await engine.writeOne(ctx, { op: 'create', model: 'task', data: { title: 'kept', orgId: ORG } })
      const before = transactions()
      const id = '0192f0b4-1c6a-7000-8000-0000000000c1'
      const writes = [
        engine.writeOne(ctx, { op: 'create', model: 'task', id, data: { title: 'new', orgId: ORG } }),
        engine.writeOne(ctx, { op: 'update', model: 'task', id, data: { title: 'renamed' } }),
        engine.writeOne(ctx, { op: 'update', model: 'task', id, data: { title: 'stale' }, ifVersion: 1 }),
        engine.writeOne(ctx, { op: 'update', model: 'task', id: made.record.id, data: { title: 'kept, edited' } }),
        engine.writeOne(ctx, { op: 'delete', model: 'task', id }),
        engine.writeOne(ctx, { op: 'update', model: 'task', id: made.record.id, data: { completed: true }, ifVersion: 2 }),
      ]
      const settled = await Promise.allSettled(writes)
      expect(transactions() - before).toBe(1)
      expect(settled.map((r) => (r.status === 'fulfilled' ? r.value.record.version : (r.reason as { code: string }).code))).toEqual([
        1,
        2,
        'version_conflict',
        2,
        3,
        3,
      ])
      const stored = await base.getRecords(task, [id, made.record.id])
      expect(stored.get(id)).toMatchObject({ version: 3, values: { title: 'renamed' } })
      expect(stored.get(id)?.deletedAt).not.toBeNull()
      expect(stored.get(made.record.id)).toMatchObject({ version: 3, values: { title: 'kept, edited', completed: true } })
      expect((await engine.history(ctx, 'task', id)).map((h) => [h.version, h.op])).toEqual([
        [1, 'create'],
        [2, 'update'],
        [3, 'delete'],
      ])
      // Listeners hear each request's change; the change order keeps each record's latest.
      expect(heard.filter((c) => c.record.id === id).map((c) => c.record.version)).toEqual([1, 2, 3])
      const page = await engine.pull(ctx, { cursor: null, limit: 100 })
      const entries = page.changes.filter((c) => c.record.id === id)
      expect(entries.map((c) => ('version' in c.record ? c.record.version : 'removed'))).toEqual([3])
    })

    it('refuses writes past the queue bound with rate_limited, and applies the rest', async () => {
      const { base, engine } = await setup({ maxQueued: 4 })
      const settled = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => engine.writeOne(ctx, { op: 'create', model: 'task', data: { title: `q${i}`, orgId: ORG } })),
      )
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'])
      const refused = settled[5] as PromiseRejectedResult
      expect(isPulseError(refused.reason) && refused.reason.code).toBe('rate_limited')
      expect((refused.reason as { retryAfterSeconds?: number }).retryAfterSeconds).toBe(1)
      expect(await base.listRecords(schema.model('task'), { limit: 100 })).toHaveLength(4)
    })
  })
}

suite('SQLite', () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-wgroup-')), 'pulse.db') }))

const pg = await pgAvailable()
describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('wgroup')
  suite('PostgreSQL', () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
