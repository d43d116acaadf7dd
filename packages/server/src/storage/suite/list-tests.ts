/**
 * Conformance: `listRecords` filters, orders and keyset pages, NULLs included. The property
 * test compares every paging of random records with a model sort in JavaScript, using the
 * convention both databases follow: NULL sorts before every value (first ascending, last
 * descending), text by code point, ties broken by id in the same direction.
 */
import { isPulseError, uuidv7 } from '@pulse/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ListOrder, StoredRecord } from '../storage.ts'
import { at, insert, item, makeRecord, nth, type SuiteContext, suiteSchema } from './fixtures.ts'

type Orderable = 'rank' | 'name' | 'price' | 'due' | 'at' | 'state' | 'createdAt' | 'updatedAt'

function orderValue(r: StoredRecord, field: string): unknown {
  if (field === 'createdAt') return r.createdAt
  if (field === 'updatedAt') return r.updatedAt
  return r.values[field]
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

function compareValues(field: string, a: unknown, b: unknown): number {
  if (a === null && b === null) return 0
  if (a === null) return -1
  if (b === null) return 1
  if (field === 'rank' || field === 'price') return Number(a) - Number(b)
  return Buffer.compare(utf8(String(a)), utf8(String(b)))
}

/** The order both databases must produce. */
export function sortRecords(records: readonly StoredRecord[], order: ListOrder): StoredRecord[] {
  const sign = order.direction === 'asc' ? 1 : -1
  return [...records].sort((x, y) => {
    const c = compareValues(order.field, orderValue(x, order.field), orderValue(y, order.field))
    return sign * (c !== 0 ? c : x.id < y.id ? -1 : x.id > y.id ? 1 : 0)
  })
}

async function expectBadRequest(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isPulseError(err) && err.code === 'bad_request').toBe(true)
}

/** Tests of listRecords. */
export function listTests(ctx: SuiteContext): void {
  describe('listRecords', () => {
    it('filters by equality, NULL included, and leaves tombstones out unless asked', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const rs = [
        makeRecord(item, { run: 'f', name: 'a', price: '12.50', done: true, due: '2026-01-01' }, { createdAt: at(1) }),
        makeRecord(item, { run: 'f', name: null, price: '12.50', done: false }, { createdAt: at(2) }),
        makeRecord(item, { run: 'f', name: 'a', price: '3.00', done: true, state: 'doing' }, { createdAt: at(3) }),
        makeRecord(item, { run: 'f', name: 'a', done: true }, { createdAt: at(4), deletedAt: at(5) }),
        makeRecord(item, { run: 'other', name: 'a', done: true }, { createdAt: at(5) }),
      ]
      await insert(s, item, rs)
      const ids = async (where: Record<string, unknown>, includeDeleted = false) =>
        (await s.listRecords(item, { where: { run: 'f', ...where }, limit: 100, includeDeleted })).map((r) => r.id)
      expect(await ids({})).toEqual([nth(rs, 0).id, nth(rs, 1).id, nth(rs, 2).id])
      expect(await ids({ name: 'a' })).toEqual([nth(rs, 0).id, nth(rs, 2).id])
      expect(await ids({ name: null })).toEqual([nth(rs, 1).id])
      expect(await ids({ done: true, price: '12.50' })).toEqual([nth(rs, 0).id])
      expect(await ids({ done: false })).toEqual([nth(rs, 1).id])
      expect(await ids({ due: '2026-01-01' })).toEqual([nth(rs, 0).id])
      expect(await ids({ state: 'doing' })).toEqual([nth(rs, 2).id])
      expect(await ids({ name: 'a' }, true)).toEqual([nth(rs, 0).id, nth(rs, 2).id, nth(rs, 3).id])
      expect(await ids({ name: `a' OR '1'='1` })).toEqual([])
    })

    it('refuses unknown fields and unorderable kinds with bad_request, before any SQL', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      await expectBadRequest(s.listRecords(item, { where: { nope: 1 }, limit: 5 }))
      await expectBadRequest(s.listRecords(item, { where: { 'name" = name; --': 1 }, limit: 5 }))
      await expectBadRequest(s.listRecords(item, { orderBy: { field: 'nope', direction: 'asc' }, limit: 5 }))
      await expectBadRequest(s.listRecords(item, { orderBy: { field: 'data', direction: 'asc' }, limit: 5 }))
      await expectBadRequest(s.listRecords(item, { orderBy: { field: 'name', direction: 'sideways' as 'asc' }, limit: 5 }))
      await expectBadRequest(s.listRecords(item, { limit: 0 }))
    })

    it('orders by every orderable kind in both directions', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const rs = [
        makeRecord(
          item,
          { run: 'o', rank: 10, name: 'b', price: '10.00', due: '2026-01-02', at: at(3), state: 'done' },
          { createdAt: at(3), updatedAt: at(1) },
        ),
        makeRecord(
          item,
          { run: 'o', rank: 9, name: 'B', price: '9.50', due: '2025-12-31', at: at(1), state: 'todo' },
          { createdAt: at(1), updatedAt: at(3) },
        ),
        makeRecord(
          item,
          { run: 'o', rank: -1, name: 'é', price: '-100.00', due: '2026-01-01', at: at(2), state: 'doing' },
          { createdAt: at(2), updatedAt: at(2) },
        ),
        makeRecord(item, { run: 'o' }, { createdAt: at(2), updatedAt: at(2) }),
      ]
      await insert(s, item, rs)
      for (const field of ['rank', 'name', 'price', 'due', 'at', 'state', 'createdAt', 'updatedAt'] satisfies Orderable[]) {
        for (const direction of ['asc', 'desc'] as const) {
          const got = await s.listRecords(item, { where: { run: 'o' }, orderBy: { field, direction }, limit: 10 })
          expect(
            got.map((r) => r.id),
            `${field} ${direction}`,
          ).toEqual(sortRecords(rs, { field, direction }).map((r) => r.id))
        }
      }
    })

    it('pages through random records exactly once each, whatever the order and page size', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const small = <T>(values: T[]) => fc.option(fc.constantFrom(...values), { nil: null, freq: 3 })
      const recordArb = fc.record({
        rank: small([-2, 0, 1, 1, 2, 1_000_000]),
        name: small(['', 'a', 'a', 'B', 'b', 'é', '😀', 'z z']),
        price: small(['0.00', '1.50', '1.50', '-2.00', '10.00', '9.99']),
        due: small(['2026-01-01', '2026-01-02', '1999-12-31']),
        state: small(['todo', 'doing', 'done']),
        created: fc.integer({ min: 0, max: 3 }),
        updated: fc.integer({ min: 0, max: 3 }),
        deleted: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      })
      const orderArb = fc.record({
        field: fc.constantFrom<Orderable>('rank', 'name', 'price', 'due', 'state', 'createdAt', 'updatedAt'),
        direction: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
      })
      const seed = Number(process.env.PULSE_FC_SEED ?? Math.floor(Math.random() * 2 ** 31))
      await fc.assert(
        fc.asyncProperty(
          fc.array(recordArb, { minLength: 0, maxLength: 25 }),
          orderArb,
          fc.integer({ min: 1, max: 7 }),
          async (specs, order, limit) => {
            const run = uuidv7()
            const records = specs.map((v) =>
              makeRecord(
                item,
                { run, rank: v.rank, name: v.name, price: v.price, due: v.due, state: v.state },
                { createdAt: at(v.created), updatedAt: at(v.updated), deletedAt: v.deleted ? at(9) : null },
              ),
            )
            await insert(s, item, records)
            const pages: StoredRecord[] = []
            let after: { value: unknown; id: string } | undefined
            for (let guard = 0; guard <= records.length + 1; guard++) {
              const page = await s.listRecords(item, { where: { run }, orderBy: order, limit, ...(after ? { after } : {}) })
              pages.push(...page)
              const last = page[page.length - 1]
              if (page.length < limit || !last) break
              after = { value: orderValue(last, order.field), id: last.id }
            }
            const expected = sortRecords(
              records.filter((r) => r.deletedAt === null),
              order,
            )
            expect(pages.map((r) => r.id)).toEqual(expected.map((r) => r.id))
          },
        ),
        { seed, numRuns: 40 },
      )
    })
  })
}
