import { describe, expect, it } from 'vitest'
import { createByteBudget } from './byte-budget.ts'

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('byte budget', () => {
  it('grants what fits at once and makes the rest wait, first come first served', async () => {
    const budget = createByteBudget(100)
    const a = await budget.acquire(60)
    const order: string[] = []
    const b = budget.acquire(50).then((release) => {
      order.push('b')
      return release
    })
    // Fits, but waits behind b: no caller is overtaken forever by smaller ones.
    const c = budget.acquire(10).then((release) => {
      order.push('c')
      return release
    })
    await tick()
    expect(order).toEqual([])
    expect(budget.available).toBe(40)
    a()
    a() // a second call gives nothing back twice
    const [rb, rc] = await Promise.all([b, c])
    expect(order).toEqual(['b', 'c'])
    expect(budget.available).toBe(40)
    rb()
    rc()
    expect(budget.available).toBe(100)
  })

  it('lets a request larger than the whole budget run alone', async () => {
    const budget = createByteBudget(100)
    const small = await budget.acquire(1)
    let granted = false
    const big = budget.acquire(10_000).then((release) => {
      granted = true
      return release
    })
    await tick()
    expect(granted).toBe(false)
    small()
    const release = await big
    expect(budget.available).toBe(0)
    release()
    expect(budget.available).toBe(100)
  })

  it('stops waiting when the caller aborts, and lets the next one through', async () => {
    const budget = createByteBudget(10)
    const held = await budget.acquire(10)
    const abort = new AbortController()
    const waiting = budget.acquire(5, abort.signal)
    const next = budget.acquire(5)
    abort.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    held()
    const release = await next
    expect(budget.available).toBe(5)
    release()
    await expect(budget.acquire(1, AbortSignal.abort())).rejects.toThrow()
    expect(() => createByteBudget(0)).toThrow(RangeError)
  })
})
