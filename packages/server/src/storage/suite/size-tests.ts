/**
 * Conformance: record sizes are estimated without loading records, close to their JSON size,
 * and `listPage` ends a page at a byte bound (a larger first record alone), paging through every
 * record once in order.
 */
import { describe, expect, it } from 'vitest'
import type { StoredRecord } from '../storage.ts'
import { at, awkwardValues, insert, item, kinds, makeRecord, type SuiteContext, suiteSchema } from './fixtures.ts'

/** The record as the wire carries it: system fields and values, without per-field versions. */
function wireBytes(r: StoredRecord): number {
  const { fieldVersions: _fv, values, ...system } = r
  return Buffer.byteLength(JSON.stringify({ ...system, ...values }))
}

/** Tests of recordSizes and listPage. */
export function sizeTests(ctx: SuiteContext): void {
  describe('record sizes', () => {
    it('estimate each record near its JSON size, leaving absent ids out', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const records = awkwardValues().map((values) => makeRecord(kinds, values))
      records.push(makeRecord(kinds, { txt: 'x'.repeat(300_000), data: { big: 'y'.repeat(200_000) }, tags: ['z'.repeat(900)] }))
      await insert(s, kinds, records)
      const sizes = await s.recordSizes(kinds, [...records.map((r) => r.id), '00000000-0000-7000-8000-000000000000'])
      expect(sizes.size).toBe(records.length)
      for (const r of records) {
        const estimate = sizes.get(r.id) as number
        const actual = wireBytes(r)
        expect(estimate, JSON.stringify(r.values).slice(0, 80)).toBeGreaterThan(actual * 0.9 - 100)
        expect(estimate, JSON.stringify(r.values).slice(0, 80)).toBeLessThan(actual * 1.1 + 600)
      }
      expect((await s.recordSizes(kinds, [])).size).toBe(0)
    })

    it('end list pages at the byte bound, a larger record alone, and page through all once', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const sizes = [10, 10, 10, 10, 100, 10, 10, 1, 1, 1, 1, 1].map((kb) => kb * 1000)
      const records = sizes.map((n, i) => makeRecord(item, { run: 'p', name: `n${i}`, data: { pad: 'x'.repeat(n) } }, { createdAt: at(i) }))
      // A tombstone and another run in between are not listed.
      records.push(makeRecord(item, { run: 'p', data: { pad: 'x'.repeat(50_000) } }, { createdAt: at(3.5), deletedAt: at(4) }))
      records.push(makeRecord(item, { run: 'q', data: { pad: 'x'.repeat(50_000) } }, { createdAt: at(4.5) }))
      await insert(s, item, records)
      const pages: string[][] = []
      let after: { value: unknown; id: string } | undefined
      for (;;) {
        const page = await s.listPage(item, { where: { run: 'p' }, limit: 4, ...(after ? { after } : {}) }, 35_000)
        expect(page.records.length).toBeGreaterThan(0)
        pages.push(page.records.map((r) => r.values.name as string))
        const last = page.records[page.records.length - 1] as StoredRecord
        after = { value: last.createdAt, id: last.id }
        if (!page.more) break
      }
      expect(pages).toEqual([['n0', 'n1', 'n2'], ['n3'], ['n4'], ['n5', 'n6', 'n7', 'n8'], ['n9', 'n10', 'n11']])
      // Without a byte bound in the way, it is the limit that ends pages.
      const all = await s.listPage(item, { where: { run: 'p' }, limit: 20 }, 10_000_000)
      expect(all.records.map((r) => r.values.name)).toEqual(sizes.map((_, i) => `n${i}`))
      expect(all.more).toBe(false)
      expect((await s.listPage(item, { where: { run: 'none' }, limit: 5 }, 1000)).records).toEqual([])
    })

    it('read one state each while other reads and writes go on, and never hide a commit from a later read', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      await insert(
        s,
        item,
        Array.from({ length: 30 }, (_, i) => makeRecord(item, { run: 'c', rank: i }, { createdAt: at(i) })),
      )
      const pages = Array.from({ length: 8 }, () => s.listPage(item, { where: { run: 'c' }, limit: 50 }, 10_000_000))
      const late = makeRecord(item, { run: 'c', rank: 99 }, { createdAt: at(99) })
      await insert(s, item, [late])
      expect(await s.getRecord(item, late.id)).toEqual(late)
      for (const page of await Promise.all(pages)) expect(page.records.length === 30 || page.records.length === 31).toBe(true)
    })
  })
}
