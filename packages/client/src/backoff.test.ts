import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

describe('backoffDelay', () => {
  const options = { baseMs: 100, maxMs: 1000 }
  it('doubles from the base up to the cap, with half of each delay random', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500])
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000])
  })
  it('is never 0 and never above the cap, whatever the attempt', () => {
    for (const attempt of [0, 1, 7, 60, 5000]) {
      const d = backoffDelay(attempt, options)
      expect(d).toBeGreaterThan(0)
      expect(d).toBeLessThanOrEqual(1000)
    }
  })
})
