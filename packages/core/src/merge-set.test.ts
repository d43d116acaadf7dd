import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mergeSets } from './merge-set.ts'
import { normalizeSet } from './validate.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 500 })

// A small universe, so base and sides overlap often; repeats and any order allowed.
const set = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'urgent', 'Bug', ''), { maxLength: 8 })

describe('mergeSets', () => {
  it('keeps additions from both sides', () => {
    expect(mergeSets(['a'], ['a', 'b'], ['a', 'c'])).toEqual(['a', 'b', 'c'])
  })

  it('applies removals from either side', () => {
    expect(mergeSets(['a', 'b', 'c'], ['a', 'c'], ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd'])
    expect(mergeSets(['a', 'b'], ['a', 'b'], [])).toEqual([])
  })

  it('lets a removal win over a side that kept the member, and an addition by both count once', () => {
    expect(mergeSets(['x'], ['x'], [])).toEqual([])
    expect(mergeSets([], ['x'], ['x'])).toEqual(['x'])
  })

  it('treats null and undefined as the empty set', () => {
    expect(mergeSets(null, ['b'], undefined)).toEqual(['b'])
    expect(mergeSets(['a'], null, ['a', 'b'])).toEqual(['b'])
    expect(mergeSets(null, null, null)).toEqual([])
  })

  it('returns canonical sets: sorted by code unit, no repeats', () => {
    expect(mergeSets([], ['b', 'a', 'b'], ['B', 'a'])).toEqual(['B', 'a', 'b'])
  })

  it('does not change its inputs', () => {
    const server = ['b', 'a']
    mergeSets(['a'], server, ['c'])
    expect(server).toEqual(['b', 'a'])
  })

  it('is symmetric in server and client', () => {
    fc.assert(
      fc.property(set, set, set, (base, server, client) => {
        expect(mergeSets(base, server, client)).toEqual(mergeSets(base, client, server))
      }),
    )
  })

  it('returns the other side when one side made no change', () => {
    fc.assert(
      fc.property(set, set, (base, x) => {
        expect(mergeSets(base, base, x)).toEqual(normalizeSet(x))
        expect(mergeSets(base, x, base)).toEqual(normalizeSet(x))
      }),
    )
  })

  it('is idempotent: both sides making the same change gives that change', () => {
    fc.assert(
      fc.property(set, set, (base, x) => {
        expect(mergeSets(base, x, x)).toEqual(normalizeSet(x))
      }),
    )
  })

  it('matches the definition member by member, and is canonical', () => {
    fc.assert(
      fc.property(set, set, set, (base, server, client) => {
        const merged = mergeSets(base, server, client)
        expect(merged).toEqual(normalizeSet(merged))
        for (const m of new Set([...base, ...server, ...client])) {
          const added = (!base.includes(m) && server.includes(m)) || (!base.includes(m) && client.includes(m))
          const keptByBoth = base.includes(m) && server.includes(m) && client.includes(m)
          expect(merged.includes(m)).toBe(added || keptByBoth)
        }
      }),
    )
  })
})
