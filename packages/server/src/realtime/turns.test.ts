import { describe, expect, it } from 'vitest'
import { createTurns } from './turns.ts'

describe('turns', () => {
  it('hands out one turn per scheduled step, in arrival order', async () => {
    const steps: (() => void)[] = []
    const turn = createTurns((fn) => steps.push(fn))
    const got: number[] = []
    const all = [1, 2, 3].map((n) => turn().then(() => got.push(n)))
    expect(steps).toHaveLength(1) // one pump scheduled, however many wait
    for (let i = 1; i <= 3; i++) {
      ;(steps.shift() as () => void)()
      await Promise.resolve()
      expect(got).toEqual([1, 2, 3].slice(0, i))
    }
    await Promise.all(all)
    ;(steps.shift() as () => void)() // the last step finds no one waiting and stops
    expect(steps).toHaveLength(0)
    void turn()
    expect(steps).toHaveLength(1) // and starts again for the next
  })

  it('lets I/O callbacks run between turns on the real event loop', async () => {
    const turn = createTurns()
    const order: string[] = []
    const pages = Array.from({ length: 3 }, (_, i) =>
      turn().then(() => {
        order.push(`page ${i}`)
        const until = Date.now() + 5
        while (Date.now() < until); // a synchronous page read
      }),
    )
    // A timer due now stands for I/O waiting: it runs before the second page, not after all.
    setTimeout(() => order.push('io'), 0)
    await Promise.all(pages)
    expect(order.indexOf('io')).toBeLessThan(order.indexOf('page 2'))
  })
})
