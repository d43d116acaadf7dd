import { defineModel, f } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { LocalRecord } from './local-record.ts'
import { compileQuery, type Query, runQuery } from './query.ts'

const item = defineModel('item', {
  fields: {
    name: f.string(),
    price: f.decimal({ precision: 10, scale: 2, nullable: true }),
    due: f.date({ nullable: true }),
    state: f.enum(['todo', 'doing', 'done'], { default: 'todo' }),
    tags: f.set({ default: [] }),
  },
})
let n = 0
function rec(name: string, fields: Record<string, unknown> = {}): LocalRecord {
  n += 1
  return {
    id: `id-${String(n).padStart(3, '0')}`,
    version: 1,
    vclock: {},
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    deletedAt: null,
    localOnly: false,
    syncError: null,
    name,
    price: null,
    due: null,
    state: 'todo',
    tags: [],
    ...fields,
  }
}
const records = [
  rec('a', { price: '9.50', due: '2026-01-02', state: 'done', tags: ['x'] }),
  rec('b', { price: '10.00', due: '2025-12-31', state: 'doing' }),
  rec('c', { price: null, state: 'todo' }),
  rec('d', { price: '-1.00', deletedAt: '2026-11-23T10:00:00.000Z' }),
]
const names = (q: Query<LocalRecord>) => runQuery(compileQuery(item, q), records).map((r) => r.name)

describe('local queries', () => {
  it('leaves tombstones out and orders by id by default', () => {
    expect(names({})).toEqual(['a', 'b', 'c'])
  })
  it('compares decimals exactly, dates chronologically, enums in declared order', () => {
    expect(names({ orderBy: 'price' })).toEqual(['c', 'a', 'b'])
    expect(names({ where: { price: { gt: '9.5' } } })).toEqual(['b'])
    expect(names({ where: { due: { lt: '2026-01-01' } } })).toEqual(['b'])
    expect(names({ orderBy: { field: 'state', direction: 'desc' } })).toEqual(['a', 'b', 'c'])
    expect(names({ where: { state: { gte: 'doing' } }, orderBy: 'name' })).toEqual(['a', 'b'])
  })
  it('null fails comparisons but matches equality with null; in and ne', () => {
    expect(names({ where: { price: { lte: '100' } } })).toEqual(['a', 'b'])
    expect(names({ where: { price: null } })).toEqual(['c'])
    expect(names({ where: { state: { in: ['todo', 'done'] } } })).toEqual(['a', 'c'])
    expect(names({ where: { state: { ne: 'todo' } } })).toEqual(['a', 'b'])
    expect(names({ where: { tags: ['x'] } })).toEqual(['a'])
  })
  it('limits after sorting, and refuses unknown fields and bad limits', () => {
    expect(names({ orderBy: { field: 'name', direction: 'desc' }, limit: 2 })).toEqual(['c', 'b'])
    expect(() => compileQuery(item, { where: { nope: 1 } as never })).toThrow(/no field "nope"/)
    expect(() => compileQuery(item, { orderBy: 'nope' as never })).toThrow(/no field/)
    expect(() => compileQuery(item, { limit: -1 })).toThrow(/limit/)
  })
})
