import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type DiffHunk, diffSequences } from './diff-sequences.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 500 })

// A small alphabet, so sequences share much and the search has real choices.
const seq = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 })

/** Checks that the hunks are a well-formed edit script turning a into b; returns its cost. */
function checkScript(a: readonly number[], b: readonly number[], hunks: readonly DiffHunk[]): number {
  const out: number[] = []
  let aPos = 0
  let bPos = 0
  let cost = 0
  for (const [i, h] of hunks.entries()) {
    expect(h.aStart - aPos).toBe(h.bStart - bPos) // the unchanged run is as long on both sides
    if (i > 0) expect(h.aStart).toBeGreaterThan(aPos) // separated by at least one unchanged element
    expect(h.aEnd > h.aStart || h.bEnd > h.bStart).toBe(true)
    expect(a.slice(aPos, h.aStart)).toEqual(b.slice(bPos, h.bStart))
    out.push(...a.slice(aPos, h.aStart), ...b.slice(h.bStart, h.bEnd))
    cost += h.aEnd - h.aStart + (h.bEnd - h.bStart)
    aPos = h.aEnd
    bPos = h.bEnd
  }
  out.push(...a.slice(aPos))
  expect(out).toEqual(b)
  return cost
}

function lcsLength(a: readonly number[], b: readonly number[]): number {
  let row = new Array<number>(b.length + 1).fill(0)
  for (const x of a) {
    const next = [0]
    for (let j = 1; j <= b.length; j++) next[j] = x === b[j - 1] ? (row[j - 1] ?? 0) + 1 : Math.max(row[j] ?? 0, next[j - 1] ?? 0)
    row = next
  }
  return row[b.length] ?? 0
}

describe('diffSequences', () => {
  it('finds nothing between equal sequences', () => {
    expect(diffSequences([], [])).toEqual([])
    expect(diffSequences([1, 2, 3], [1, 2, 3])).toEqual([])
  })

  it('reports insertions, deletions and replacements', () => {
    expect(diffSequences([1, 2, 3], [1, 9, 2, 3])).toEqual([{ aStart: 1, aEnd: 1, bStart: 1, bEnd: 2 }])
    expect(diffSequences([1, 2, 3], [1, 3])).toEqual([{ aStart: 1, aEnd: 2, bStart: 1, bEnd: 1 }])
    expect(diffSequences([1, 2, 3, 4, 5], [1, 7, 3, 8, 5])).toEqual([
      { aStart: 1, aEnd: 2, bStart: 1, bEnd: 2 },
      { aStart: 3, aEnd: 4, bStart: 3, bEnd: 4 },
    ])
    expect(diffSequences([], [1, 2])).toEqual([{ aStart: 0, aEnd: 0, bStart: 0, bEnd: 2 }])
  })

  it('returns a correct and minimal edit script', () => {
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const cost = checkScript(a, b, diffSequences(a, b))
        expect(cost).toBe(a.length + b.length - 2 * lcsLength(a, b))
      }),
    )
  })

  it('stays correct, though coarse, when the budget runs out', () => {
    fc.assert(
      fc.property(seq, seq, fc.nat({ max: 3 }), fc.nat({ max: 40 }), (a, b, maxEditDistance, maxWork) => {
        checkScript(a, b, diffSequences(a, b, { maxEditDistance, maxWork }))
      }),
    )
    expect(diffSequences([0, 1, 2, 3, 0], [0, 3, 2, 1, 0], { maxEditDistance: 1, maxWork: 1e9 })).toEqual([
      { aStart: 1, aEnd: 4, bStart: 1, bEnd: 4 },
    ])
  })

  it('is fast on long sequences with scattered edits and on unrelated ones', () => {
    const long = Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 1000)
    const edited = long.map((x, i) => (i % 500 === 0 ? x + 5000 : x))
    const unrelated = Array.from({ length: 50_000 }, (_, i) => (i % 2) + 2000)
    const t0 = performance.now()
    checkScript(long, edited, diffSequences(long, edited))
    checkScript(long, unrelated, diffSequences(long, unrelated))
    expect(performance.now() - t0).toBeLessThan(1500)
  })
})
