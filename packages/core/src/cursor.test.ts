import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCursor, decodeCursorParts, encodeCursor } from './cursor.ts'

describe('cursors', () => {
  it('round-trip position and epoch (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 1_000_000 }), (position, epoch) => {
        expect(decodeCursorParts(encodeCursor(position, epoch))).toEqual({ position, epoch })
      }),
      { seed: Number(process.env.FC_SEED ?? 7), numRuns: Number(process.env.FC_RUNS ?? 300) },
    )
  })
  it('keep order: a later position has a later cursor position', () => {
    expect(decodeCursor(encodeCursor(10))).toBeLessThan(decodeCursor(encodeCursor(11)))
  })
  it('treat no cursor as the beginning and refuse forged ones', () => {
    expect(decodeCursorParts(null)).toEqual({ position: 0, epoch: 0 })
    for (const forged of ['42', 'c1.', 'c2.1', 'c1.zzzzzzzzzzzz', 'c1.1.', 'c1.-1', 'c1.1.2.3'])
      expect(() => decodeCursor(forged), forged).toThrow(/cursor/)
  })
})
