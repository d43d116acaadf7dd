/**
 * Conformance: migrating, storing and reading records, and transactions.
 */
import { uuidv7 } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { StoredRecord } from '../storage.ts'
import { at, awkwardValues, change, history, insert, item, kinds, makeRecord, nth, type SuiteContext, suiteSchema } from './fixtures.ts'

/** Tests of records and transactions. */
export function recordTests(ctx: SuiteContext): void {
  describe('migrate', () => {
    it('plans every table on an empty database, creates them, and is idempotent', async () => {
      const s = ctx.storage()
      const plan = await s.planMigration(suiteSchema)
      expect(plan.applied).toBe(false)
      expect(plan.steps.filter((st) => st.kind === 'create_table').map((st) => st.model)).toEqual(['kinds', 'item'])
      expect(plan.steps.some((st) => st.destructive)).toBe(false)
      // Planning changed nothing: the same plan again.
      expect((await s.planMigration(suiteSchema)).steps).toEqual(plan.steps)
      const applied = await s.migrate(suiteSchema)
      expect(applied).toEqual({ steps: plan.steps, applied: true })
      expect(await s.planMigration(suiteSchema)).toEqual({ steps: [], applied: false })
      expect(await s.migrate(suiteSchema)).toEqual({ steps: [], applied: true })
      await insert(s, item, [makeRecord(item, { run: 'x' })])
      await s.transaction((tx) => tx.setClientMid('dev_1', 1))
    })
  })

  describe('records', () => {
    it('round-trips every field kind exactly', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const records = awkwardValues().map((v, i) =>
        makeRecord(kinds, v, { vclock: { dev_a: i + 1, 'dev "b"': 2 }, fieldVersions: { str: i } }),
      )
      await insert(s, kinds, records)
      for (const record of records) expect(await s.getRecord(kinds, record.id)).toEqual(record)
      const many = await s.getRecords(
        kinds,
        records.map((r) => r.id),
      )
      expect([...many.values()].sort(byId)).toEqual([...records].sort(byId))
    })

    it('inserts, updates, tombstones and reads back', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const a = makeRecord(item, { run: 'r', name: 'first', rank: 1 })
      await insert(s, item, [a])
      expect(await s.getRecord(item, uuidv7())).toBeUndefined()
      const b: StoredRecord = {
        ...a,
        version: 2,
        vclock: { dev_a: 1, dev_b: 1 },
        updatedAt: at(5),
        fieldVersions: { ...a.fieldVersions, name: 2 },
        values: { ...a.values, name: 'second', rank: null },
      }
      await s.transaction((tx) => tx.updateRecords(item, [b]))
      expect(await s.getRecord(item, a.id)).toEqual(b)
      const c: StoredRecord = { ...b, version: 3, deletedAt: at(9), updatedAt: at(9) }
      await s.transaction(async (tx) => {
        const locked = await tx.getRecords(item, [a.id])
        expect(locked.get(a.id)).toEqual(b)
        await tx.updateRecords(item, [c])
      })
      expect(await s.getRecord(item, a.id)).toEqual(c)
      expect(await s.listRecords(item, { limit: 10 })).toEqual([])
      expect(await s.listRecords(item, { limit: 10, includeDeleted: true })).toEqual([c])
    })

    it('writes batches of any size exactly: 1 to 150 records inserted, then updated, one call each', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      for (const n of [1, 3, 64, 65, 150]) {
        const records = Array.from({ length: n }, (_, i) => makeRecord(item, { run: `n${n}`, rank: i, name: `r'${i}"`, done: i % 2 === 0 }))
        await insert(s, item, records)
        const updated = records.map((r, i) => ({ ...r, version: 2, values: { ...r.values, rank: 1000 - i, done: i % 3 === 0 } }))
        await s.transaction((tx) => tx.updateRecords(item, updated))
        const read = await s.getRecords(
          item,
          records.map((r) => r.id),
        )
        expect(records.map((r) => read.get(r.id))).toEqual(updated)
        // An update naming a record that does not exist changes nothing and fails.
        const missing = [...updated.slice(0, n - 1).map((r) => ({ ...r, version: 3 })), makeRecord(item, { run: 'missing' })]
        await expect(s.transaction((tx) => tx.updateRecords(item, missing))).rejects.toThrow(/do not exist/)
        expect((await s.getRecord(item, nth(records, 0).id))?.version).toBe(2)
      }
    })

    it('reads many ids at once, in and out of transactions', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const records = Array.from({ length: 1200 }, (_, i) => makeRecord(item, { run: 'many', rank: i }))
      await insert(s, item, records)
      const ids = [...records.map((r) => r.id), uuidv7(), uuidv7()]
      const outside = await s.getRecords(item, ids)
      expect(outside.size).toBe(1200)
      expect(outside.get(nth(records, 700).id)).toEqual(records[700])
      const inside = await s.transaction((tx) => tx.getRecords(item, ids))
      expect(inside.size).toBe(1200)
      expect((await s.getRecords(item, [])).size).toBe(0)
    })
  })

  describe('transactions', () => {
    it('roll back completely when fn throws: no record, history, change, mid or conflict', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const r = makeRecord(item, { run: 'rb' })
      const failure = new Error('boom')
      await expect(
        s.transaction(async (tx) => {
          await tx.insertRecords(item, [r])
          await tx.appendHistory([history(r.id, 1)])
          await tx.setClientMid('dev_rb', 9)
          await tx.appendChanges([change(r.id)])
          throw failure
        }),
      ).rejects.toBe(failure)
      expect(await s.getRecord(item, r.id)).toBeUndefined()
      expect(await s.listHistory(item, r.id)).toEqual([])
      expect(await s.readChanges(0, 10)).toEqual([])
      expect(await s.transaction((tx) => tx.claimClient('dev_rb', null))).toEqual({ lastMid: 0, owner: null })
    })

    it('returns what fn returns, and a tx cannot be used after its transaction', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      let leaked: Parameters<Parameters<typeof s.transaction>[0]>[0] | undefined
      expect(
        await s.transaction(async (tx) => {
          leaked = tx
          return 42
        }),
      ).toBe(42)
      if (!leaked) throw new Error('fn did not run')
      await expect(leaked.claimClient('x', null)).rejects.toThrow()
    })

    it('serialises concurrent create-or-update of one id (unique races re-run fn)', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const id = uuidv7()
      const bump = () =>
        s.transaction(async (tx) => {
          const existing = (await tx.getRecords(item, [id])).get(id)
          // Let the others read too, so several try to insert the same id at once.
          await new Promise((resolve) => setTimeout(resolve, 20))
          if (!existing) await tx.insertRecords(item, [makeRecord(item, { run: 'race', rank: 1 }, { id })])
          else
            await tx.updateRecords(item, [
              { ...existing, version: existing.version + 1, values: { ...existing.values, rank: (existing.values.rank as number) + 1 } },
            ])
        })
      await Promise.all(Array.from({ length: 6 }, bump))
      const final = await s.getRecord(item, id)
      expect(final?.version).toBe(6)
      expect(final?.values.rank).toBe(6)
    })
  })
}

function byId(a: StoredRecord, b: StoredRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
