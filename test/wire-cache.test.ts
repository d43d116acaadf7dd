/**
 * Pulls serialise each change once (issue 12): a change committed through the engine is pulled
 * without reading its record again, a change updated since is pulled at its new version, scope
 * still filters per reader, models with a read rule are loaded and checked as before, and the
 * cache keeps within its bound.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import { type Actor, createEngine, createSqliteStorage, type Storage, systemContext } from '@pulse/server'
import { afterEach, describe, expect, it } from 'vitest'
import { createWireCache } from '../packages/server/src/engine/wire-cache.ts'

const card = defineModel('card', { fields: { title: f.string(), orgId: f.org() } })
const diary = defineModel('diary', {
  fields: { text: f.string(), authorId: f.string({ max: 64 }) },
  rules: { read: (record, caller) => record.authorId === caller.userId },
})
const schema = defineSchema([card, diary])
const ORG_A = uuidv7()
const ORG_B = uuidv7()

/** A storage whose record reads are counted. */
function counted(storage: Storage): { storage: Storage; reads: { records: number; sizes: number } } {
  const reads = { records: 0, sizes: 0 }
  const wrapped: Storage = Object.create(storage)
  wrapped.getRecords = (model, ids, signal) => {
    reads.records += ids.length
    return storage.getRecords(model, ids, signal)
  }
  wrapped.recordSizes = (model, ids, signal) => {
    reads.sizes += ids.length
    return storage.recordSizes(model, ids, signal)
  }
  return { storage: wrapped, reads }
}

const member = (orgIds: string[]): Actor => ({ userId: 'u1', orgIds, deviceId: null, admin: false })

describe('pulls from the wire cache', () => {
  const open: Storage[] = []
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })

  async function setup(wireCacheBytes?: number) {
    const base = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-wire-cache-')), 'db.sqlite') })
    open.push(base)
    await base.migrate(schema)
    const { storage, reads } = counted(base)
    const engine = createEngine({ storage, schema, ...(wireCacheBytes !== undefined ? { wireCacheBytes } : {}) })
    return { engine, reads }
  }

  it('pulls committed changes without reading their records, and updated ones at their new version', async () => {
    const { engine, reads } = await setup()
    const ctx = systemContext()
    const ids = Array.from({ length: 30 }, () => uuidv7())
    await engine.write(
      ctx,
      ids.map((id, i) => ({ op: 'create' as const, model: 'card', id, data: { title: `c${i}`, orgId: i % 2 ? ORG_A : ORG_B } })),
    )
    const first = await engine.pull(ctx, { cursor: null, limit: 7 })
    expect(first.changes).toHaveLength(7)
    expect(reads).toEqual({ records: 0, sizes: 0 })

    await engine.write(ctx, [{ op: 'update', model: 'card', id: ids[3] as string, data: { title: 'changed' } }])
    const all = await engine.pull(ctx, { cursor: null, limit: 1000 })
    expect(reads).toEqual({ records: 0, sizes: 0 })
    expect(all.changes.map((c) => c.record.id)).toEqual([...ids.filter((_, i) => i !== 3), ids[3]])
    const changed = all.changes.find((c) => c.record.id === ids[3])
    expect(changed?.record).toMatchObject({ title: 'changed', version: 2 })

    // Scope is decided per reader: a member of org A sees A's cards only.
    const scoped = await engine.pull({ ...ctx, actor: member([ORG_A]) }, { cursor: null, limit: 1000 })
    expect(scoped.changes).toHaveLength(15)
    expect(scoped.changes.every((c) => (c.record as { orgId?: string }).orgId === ORG_A)).toBe(true)
  })

  it('never serves a purged record\u2019s state for one created again under its id (in another process)', async () => {
    const base = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-wire-cache-')), 'db.sqlite') })
    open.push(base)
    await base.migrate(schema)
    const here = createEngine({ storage: base, schema })
    const later = new Date(Date.now() + 2 * 86_400_000)
    const elsewhere = createEngine({ storage: base, schema, now: () => later })
    const ctx = systemContext()
    const id = uuidv7()
    await here.write(ctx, [{ op: 'create', model: 'card', id, data: { title: 'first life', orgId: ORG_A } }])
    await here.write(ctx, [{ op: 'update', model: 'card', id, data: { title: 'first life, edited' } }])
    await here.write(ctx, [{ op: 'delete', model: 'card', id }])
    // This process holds the tombstone, version 3; another purges it, and the id lives again.
    expect((await here.pull(ctx, { cursor: null })).changes[0]?.record).toMatchObject({ version: 3 })
    expect(await elsewhere.purgeTombstones(1)).toBe(1)
    await elsewhere.write(ctx, [{ op: 'create', model: 'card', id, data: { title: 'second life', orgId: ORG_A } }])
    await elsewhere.write(ctx, [{ op: 'update', model: 'card', id, data: { title: 'second life, edited' } }])
    await elsewhere.write(ctx, [{ op: 'update', model: 'card', id, data: { title: 'second life, again' } }])
    const [change] = (await here.pull(ctx, { cursor: null })).changes
    expect(change?.record).toMatchObject({ version: 3, title: 'second life, again', deletedAt: null })
  })

  it('reads a record once when the cache did not hold it, then serves it from the cache', async () => {
    const { engine, reads } = await setup(0)
    const ctx = systemContext()
    await engine.write(ctx, [{ op: 'create', model: 'card', data: { title: 'x', orgId: ORG_A } }])
    await engine.pull(ctx, { cursor: null })
    await engine.pull(ctx, { cursor: null })
    // A bound of 0 keeps nothing: each pull reads the record (and its size) again.
    expect(reads).toEqual({ records: 2, sizes: 2 })
  })

  it('still loads and checks records of a model with a read rule', async () => {
    const { engine, reads } = await setup()
    const ctx = systemContext()
    await engine.write(ctx, [
      { op: 'create', model: 'diary', data: { text: 'mine', authorId: 'u1' } },
      { op: 'create', model: 'diary', data: { text: 'theirs', authorId: 'u2' } },
    ])
    const page = await engine.pull({ ...ctx, actor: member([]) }, { cursor: null })
    expect(page.changes.map((c) => (c.record as { text?: string }).text)).toEqual(['mine'])
    expect(reads.records).toBe(2)
  })
})

describe('createWireCache', () => {
  const model = card
  const record = (id: string, version: number, title: string) => ({
    id,
    version,
    vclock: { s: version },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    deletedAt: null,
    fieldVersions: {},
    values: { title, orgId: ORG_A },
  })

  it('holds one state a record, at its position, never an earlier over a later, within its bound', () => {
    const cache = createWireCache(10_000)
    const id = uuidv7()
    cache.put(model, record(id, 2, 'two'), 20)
    cache.put(model, record(id, 1, 'one'), 10)
    expect(cache.get('card', id, 10, 1)).toBeUndefined()
    expect(JSON.parse(cache.get('card', id, 20, 2)?.json.toString() ?? 'null').record.title).toBe('two')
    cache.put(model, record(id, 3, 'three'), 30)
    expect(cache.get('card', id, 20, 2)).toBeUndefined()
    expect(cache.count).toBe(1)
    // Purged and created again under the same id: its versions start over, its positions do not.
    expect(cache.get('card', id, 90, 3)).toBeUndefined()
    // A state whose position is not known is encoded, not kept.
    cache.put(model, record(id, 4, 'four'), undefined)
    expect(cache.get('card', id, 30, 3)).toBeDefined()

    for (let i = 0; i < 200; i++) cache.put(model, record(uuidv7(), 1, `r${i}`), 100 + i)
    expect(cache.size).toBeLessThanOrEqual(10_000)
    expect(cache.count).toBeLessThan(200)
  })

  it('counts encoded bytes, and keeps no record larger than a sixteenth of the bound', () => {
    const cache = createWireCache(100_000)
    const a = cache.put(model, record(uuidv7(), 1, 'a'.repeat(1000)), 1)
    const b = cache.put(model, record(uuidv7(), 1, '\u4e00'.repeat(1000)), 2)
    expect(b.cost - a.cost).toBe(2000)
    const huge = record(uuidv7(), 1, 'h'.repeat(7000))
    cache.put(model, huge, 3)
    expect(cache.get('card', huge.id, 3, 1)).toBeUndefined()
    expect(cache.count).toBe(2)
  })
})
