/**
 * Conformance: history, the change order (§2), purging, and the probe.
 */
import { uuidv7 } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { at, change, history, insert, item, makeRecord, nth, type SuiteContext, sleep, suiteSchema } from './fixtures.ts'

/** Tests of history, change order, purge and probe. */
export function logTests(ctx: SuiteContext): void {
  describe('history', () => {
    it('lists a record’s entries oldest first, and those after a version inside a transaction', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const [a, b] = [uuidv7(), uuidv7()]
      const entries = [history(a, 1), history(b, 1), history(a, 2, { userId: null, deviceId: null, requestId: null })]
      await s.transaction((tx) => tx.appendHistory(entries))
      const deletion = history(a, 3, { op: 'delete', changes: {} })
      await s.transaction((tx) => tx.appendHistory([deletion]))
      expect(await s.listHistory(item, a)).toEqual([entries[0], entries[2], deletion])
      const since = await s.transaction((tx) => tx.listHistory(item, a, 1))
      expect(since.map((h) => h.version)).toEqual([2, 3])
      expect(await s.listHistory(item, uuidv7())).toEqual([])
    })
  })

  describe('change order', () => {
    it('gives a batch of any size consecutive positions in entry order, each the one stored; history kept in order', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const head = await s.headPosition()
      const ids = Array.from({ length: 150 }, () => uuidv7())
      const entries = ids.map((id) => history(id, 1))
      const positions = await s.transaction(async (tx) => {
        await tx.appendHistory(entries)
        return tx.appendChanges(ids.map((id, i) => change(id, { version: i + 1 })))
      })
      expect(positions).toHaveLength(150)
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(nth(positions, i - 1))
      const rows = await s.readChanges(head, 1000)
      expect(rows.map((r) => [r.recordId, r.seq, r.version])).toEqual(ids.map((id, i) => [id, positions[i], i + 1]))
      expect(await s.headPosition()).toBe(positions[149])
      expect(await s.listHistory(item, nth(ids, 99))).toEqual([entries[99]])
    })

    it('keeps one entry per record, with strictly increasing positions', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()]
      const first = await s.transaction((tx) => tx.appendChanges([change(a), change(b)]))
      const second = await s.transaction((tx) => tx.appendChanges([change(a, { version: 2, deleted: true, ownerId: 'u1' })]))
      const third = await s.transaction((tx) => tx.appendChanges([change(c, { orgId: 'o1' }), change(b, { version: 2 })]))
      const positions = [...first, ...second, ...third]
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(nth(positions, i - 1))
      const rows = await s.readChanges(0, 100)
      expect(rows).toEqual([
        { ...change(a, { version: 2, deleted: true, ownerId: 'u1' }), seq: second[0], removed: false },
        { ...change(c, { orgId: 'o1' }), seq: third[0], removed: false },
        { ...change(b, { version: 2 }), seq: third[1], removed: false },
      ])
      expect(await s.readChanges(nth(second, 0), 1)).toEqual([rows[1]])
      expect(await s.readChanges(nth(third, 1), 10)).toEqual([])
      // §8: a record that left a scope has a removal entry beside its live one, one per scope
      // it left: moved o1 → o2 → o3, a reader of o1 still hears it left; a later removal from
      // the same scope replaces the earlier.
      const [moved] = await s.transaction((tx) =>
        tx.appendChanges([change(c, { orgId: 'o1', removed: true }), change(c, { version: 2, orgId: 'o2' })]),
      )
      const [movedAgain] = await s.transaction((tx) =>
        tx.appendChanges([change(c, { version: 2, orgId: 'o2', removed: true }), change(c, { version: 3, orgId: 'o3' })]),
      )
      expect(await s.headPosition()).toBe(movedAgain ? movedAgain + 1 : -1)
      const forC = async () => (await s.readChanges(0, 100)).filter((r) => r.recordId === c)
      expect((await forC()).map((r) => [r.seq, r.removed, r.orgId, r.version])).toEqual([
        [moved, true, 'o1', 1],
        [movedAgain, true, 'o2', 2],
        [(movedAgain as number) + 1, false, 'o3', 3],
      ])
      const scoped = await s.readChanges(nth(third, 1), 100, { scope: { globalModels: [], userId: null, orgIds: ['o1'] } })
      expect(scoped.map((r) => [r.removed, r.orgId])).toEqual([[true, 'o1']])
      // Back into o1 and out again: o1's removal moves to the newest position, o2's stays.
      const [thirdMove] = await s.transaction((tx) =>
        tx.appendChanges([change(c, { version: 3, orgId: 'o3', removed: true }), change(c, { version: 4, orgId: 'o1' })]),
      )
      const [fourthMove] = await s.transaction((tx) =>
        tx.appendChanges([change(c, { version: 4, orgId: 'o1', removed: true }), change(c, { version: 5, orgId: 'o2' })]),
      )
      expect((await forC()).map((r) => [r.seq, r.removed, r.orgId, r.version])).toEqual([
        [movedAgain, true, 'o2', 2],
        [thirdMove, true, 'o3', 3],
        [fourthMove, true, 'o1', 4],
        [(fourthMove as number) + 1, false, 'o2', 5],
      ])
      expect(moved).toBeLessThan(movedAgain as number)
      // A position is never handed out again, even after the newest entry was replaced.
      const fourth = await s.transaction((tx) => tx.appendChanges([change(b, { version: 3 })]))
      expect(fourth[0]).toBeGreaterThan(nth(third, 1))
    })

    it('filters by model and by scope (§8)', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const [mine, theirs, org, other, global] = [uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7()]
      await s.transaction((tx) =>
        tx.appendChanges([
          change(mine, { ownerId: 'me' }),
          change(theirs, { ownerId: 'them' }),
          change(org, { orgId: 'o1' }),
          change(other, { orgId: 'o2' }),
          change(global, { model: 'kinds' }),
        ]),
      )
      const ids = async (filter: Parameters<typeof s.readChanges>[2]) => (await s.readChanges(0, 100, filter)).map((r) => r.recordId)
      expect(await ids({ scope: { globalModels: ['kinds'], userId: 'me', orgIds: ['o1'] } })).toEqual([mine, org, global])
      expect(await ids({ scope: { globalModels: [], userId: null, orgIds: [] } })).toEqual([])
      expect(await ids({ models: ['kinds'] })).toEqual([global])
      expect(await ids({ models: ['item'], scope: { globalModels: ['kinds'], userId: 'them', orgIds: ['o2'] } })).toEqual([theirs, other])
      expect(await ids({})).toHaveLength(5)
    })

    it('never lets a reader skip a position while concurrent writers commit (§2 no gaps)', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const committed: number[] = []
      const writer = async (i: number): Promise<void> => {
        await sleep((i % 4) * 3)
        const seqs = await s.transaction(async (tx) => {
          const r = makeRecord(item, { run: 'gap', rank: i })
          await tx.insertRecords(item, [r])
          const positions = await tx.appendChanges([change(r.id)])
          // Hold the transaction open after taking a position, so commits land out of order.
          await sleep(i % 2 === 0 ? 25 : 0)
          return positions
        })
        committed.push(...seqs)
      }
      const seen = new Set<number>()
      let cursor = 0
      let done = false
      const reader = (async () => {
        while (!done) {
          for (const row of await s.readChanges(cursor, 1000)) {
            seen.add(row.seq)
            cursor = row.seq
          }
          await sleep(1)
        }
        for (const row of await s.readChanges(cursor, 1000)) seen.add(row.seq)
      })()
      await Promise.all(Array.from({ length: 12 }, (_, i) => writer(i)))
      done = true
      await reader
      expect(committed).toHaveLength(12)
      expect(committed.filter((seq) => !seen.has(seq))).toEqual([])
    })
  })

  describe('purge', () => {
    it('deletes old tombstones with their history and changes, and raises the watermark', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      expect(await s.purgedPosition()).toBe(0)
      const old = makeRecord(item, { run: 'p' }, { deletedAt: at(10) })
      const recent = makeRecord(item, { run: 'p' }, { deletedAt: at(100) })
      const alive = makeRecord(item, { run: 'p' })
      await insert(s, item, [old, recent, alive])
      const seqs = await s.transaction(async (tx) => {
        await tx.appendHistory([history(old.id, 1), history(recent.id, 1), history(alive.id, 1)])
        return tx.appendChanges([change(old.id, { deleted: true }), change(alive.id), change(recent.id, { deleted: true })])
      })
      expect(await s.purgeTombstones(at(50))).toBe(1)
      expect(await s.getRecord(item, old.id)).toBeUndefined()
      expect(await s.listHistory(item, old.id)).toEqual([])
      expect((await s.readChanges(0, 10)).map((r) => r.recordId)).toEqual([alive.id, recent.id])
      expect(await s.purgedPosition()).toBe(seqs[0])
      expect(await s.getRecord(item, recent.id)).toEqual(recent)
      expect(await s.purgeTombstones(at(50))).toBe(0)
      expect(await s.purgedPosition()).toBe(seqs[0])
    })
  })

  describe('probe', () => {
    it('writes and reads back', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      await s.probe()
      await s.probe()
    })
  })
}
