/**
 * §2 no gaps, on PostgreSQL where transactions commit out of order (docs/change-order.md):
 * a transaction holding positions does not stop a later one from committing, and readers stop
 * below it until it ends; many writers commit concurrently while pullers pull from their
 * cursors; at the end every puller has every record at its latest version, and no puller ever
 * saw a version go backwards.
 */
import { defineSchema, uuidv7 } from '@pulse/core'
import { type ChangeEntry, createEngine, createPostgresStorage, type Engine, type Storage, systemContext } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { ping } from './support/sync-models.ts'

const pg = await pgAvailable()
const WRITERS = 12
const TX_PER_WRITER = 40
const PULLERS = 4

describe.skipIf(!pg)('change order on PostgreSQL under concurrent writers', () => {
  const schemas = usePgSchemas('order')
  const schema = defineSchema([ping])
  let storage: Storage
  let engine: Engine

  beforeAll(async () => {
    storage = await createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next(), poolSize: WRITERS + PULLERS + 2 })
    await storage.migrate(schema)
    engine = createEngine({ storage, schema })
  })
  afterAll(async () => {
    await storage?.close()
  })

  it('a later transaction commits while an earlier one holds its positions; readers stop below the earlier one until it ends', async () => {
    const entry = (recordId: string): ChangeEntry => ({ model: 'ping', recordId, version: 1, ownerId: null, orgId: null, deleted: false })
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()]
    const headBefore = await storage.headPosition()
    let release = (): void => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let claimed = (_: number): void => {}
    const aClaimed = new Promise<number>((resolve) => {
      claimed = resolve
    })
    // A claims its position and stays open until released.
    const first = storage.transaction(async (tx) => {
      const [seq] = await tx.appendChanges([entry(a)])
      claimed(seq as number)
      await held
      return seq as number
    })
    const seqA = await aClaimed
    // B and C claim later positions and commit while A is still open (under a lock held until
    // COMMIT, as before, they would wait for A, and A for this test: it would never end).
    const [seqB] = await storage.transaction((tx) => tx.appendChanges([entry(b)]))
    const [seqC] = await storage.transaction((tx) => tx.appendChanges([entry(c)]))
    expect(seqB).toBeGreaterThan(seqA)
    expect(seqC).toBeGreaterThan(seqB as number)
    // B and C are committed, yet no reader may pass A's position while A may still commit.
    const head = await storage.headPosition()
    expect(head).toBeLessThan(seqA)
    expect(head).toBeGreaterThanOrEqual(headBefore)
    const early = await storage.readChanges(headBefore, 100)
    expect(early.map((r) => r.recordId)).toEqual([])
    release()
    expect(await first).toBe(seqA)
    const late = await storage.readChanges(headBefore, 100)
    expect(late.map((r) => r.recordId)).toEqual([a, b, c])
    expect(await storage.headPosition()).toBe(seqC)
  })

  it('a rolled-back claim holds readers back only until it ends', async () => {
    const entry = (recordId: string): ChangeEntry => ({ model: 'ping', recordId, version: 1, ownerId: null, orgId: null, deleted: false })
    const before = await storage.headPosition()
    await expect(
      storage.transaction(async (tx) => {
        await tx.appendChanges([entry(uuidv7())])
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    const kept = uuidv7()
    const [seq] = await storage.transaction((tx) => tx.appendChanges([entry(kept)]))
    expect(await storage.headPosition()).toBe(seq)
    expect((await storage.readChanges(before, 100)).map((r) => r.recordId)).toEqual([kept])
  })

  it('every committed change reaches every puller at its latest state, none missed', async () => {
    const ctx = systemContext()
    const ids: string[] = []
    let writing = true

    async function writer(w: number): Promise<void> {
      for (let t = 0; t < TX_PER_WRITER; t++) {
        // Mostly creates (a missed create is never healed by a later change), some updates.
        const ops = Array.from({ length: 1 + ((w + t) % 4) }, (_, k) => {
          const existing = ids[(w * 7 + t * 13 + k) % Math.max(1, ids.length)]
          if (existing && (t + k) % 5 === 0) return { op: 'update' as const, model: 'ping', id: existing, data: { n: w * 1000 + t } }
          const id = uuidv7()
          ids.push(id)
          return { op: 'create' as const, model: 'ping', id, data: { n: t } }
        })
        await engine.write(ctx, ops)
      }
    }

    async function puller(): Promise<Map<string, number>> {
      const seen = new Map<string, number>()
      let cursor: string | null = null
      let _rounds = 0
      for (;;) {
        const stillWriting = writing
        const page = await engine.pull(ctx, { cursor, limit: 37 })
        for (const change of page.changes) {
          const before = seen.get(change.record.id) ?? 0
          const version = (change.record as { version: number }).version
          expect(version, 'a version went backwards').toBeGreaterThanOrEqual(before)
          seen.set(change.record.id, version)
        }
        cursor = page.cursor
        _rounds++
        if (!page.hasMore && !stillWriting) return seen
        if (!page.hasMore) await new Promise((r) => setTimeout(r, 1))
      }
    }

    const pullers = Array.from({ length: PULLERS }, () => puller())
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))
    writing = false
    const views = await Promise.all(pullers)

    const truth = new Map<string, number>()
    let cursor: string | null = null
    for (;;) {
      const page = await engine.pull(ctx, { cursor, limit: 5000 })
      for (const c of page.changes) truth.set(c.record.id, (c.record as { version: number }).version)
      cursor = page.cursor
      if (!page.hasMore) break
    }
    expect(truth.size).toBe(new Set(ids).size)
    for (const view of views) {
      const missing = [...truth].filter(([id, v]) => view.get(id) !== v)
      expect(missing, `${missing.length} changes missed or stale`).toEqual([])
    }
  })
})
