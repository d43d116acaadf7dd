import { afterEach, describe, expect, it, vi } from 'vitest'
import type { BusMessage } from '../bus/bus.ts'
import { type CommitOrder, createCommitOrder } from './commit-order.ts'

function commit(prev: number, last = prev + 1): BusMessage {
  return { prev, last, changes: [] }
}

describe('commit order', () => {
  let order: CommitOrder | undefined
  afterEach(() => order?.close())

  function make(gapWaitMs = 40, maxHeld?: number) {
    const got: [number, number][] = []
    const errors: unknown[] = []
    order = createCommitOrder({
      dispatch: (m) => got.push([m.prev, m.last]),
      onError: (e) => errors.push(e),
      gapWaitMs,
      ...(maxHeld !== undefined ? { maxHeld } : {}),
    })
    return { order, got, errors }
  }

  it('starts at the first message and dispatches what follows on at once', () => {
    const { order, got } = make()
    expect(order.head).toBeUndefined()
    order.accept(commit(10, 12))
    order.accept(commit(12))
    order.accept(commit(13, 16))
    expect(got).toEqual([
      [10, 12],
      [12, 13],
      [13, 16],
    ])
    expect(order.head).toBe(16)
  })

  it('holds a commit back until the gap before it fills, then dispatches both in order', () => {
    const { order, got } = make(10_000)
    order.accept(commit(0, 1))
    order.accept(commit(3, 5))
    order.accept(commit(2, 3))
    expect(got).toEqual([[0, 1]])
    expect(order.held).toBe(2)
    order.accept(commit(1, 2))
    expect(got).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
    ])
    expect(order.held).toBe(0)
  })

  it('jumps over a gap that does not fill within the wait', () => {
    // Fake timers: the waits are the rule under test, not the machine's speed.
    vi.useFakeTimers()
    try {
      const { order, got } = make(30)
      order.accept(commit(0, 1))
      order.accept(commit(4, 6))
      order.accept(commit(7, 8))
      vi.advanceTimersByTime(15)
      expect(got).toEqual([[0, 1]])
      vi.advanceTimersByTime(20)
      // The first jump lands on 4 and drains to 6; 7 waits anew for position 7, then jumps too.
      expect(got).toEqual([
        [0, 1],
        [4, 6],
      ])
      vi.advanceTimersByTime(30)
      expect(got.at(-1)).toEqual([7, 8])
      expect(order.head).toBe(8)
    } finally {
      vi.useRealTimers()
    }
  })

  it('drops a commit that arrives after the head passed it', () => {
    const { order, got } = make()
    order.accept(commit(5, 6))
    order.accept(commit(3, 5))
    order.accept(commit(5, 6))
    expect(got).toEqual([[5, 6]])
  })

  it('jumps at once when too many commits are held', () => {
    const { order, got } = make(10_000, 2)
    order.accept(commit(0, 1))
    order.accept(commit(5, 6))
    order.accept(commit(6, 7))
    expect(got).toEqual([[0, 1]])
    order.accept(commit(8, 9))
    expect(got).toEqual([
      [0, 1],
      [5, 6],
      [6, 7],
    ])
  })

  it('reports a failing dispatch and carries on', () => {
    const errors: unknown[] = []
    const got: number[] = []
    order = createCommitOrder({
      dispatch: (m) => {
        if (m.prev === 1) throw new Error('boom')
        got.push(m.prev)
      },
      onError: (e) => errors.push(e),
    })
    order.accept(commit(0))
    order.accept(commit(1))
    order.accept(commit(2))
    expect(got).toEqual([0, 2])
    expect(errors).toHaveLength(1)
  })

  it('ignores everything once closed', async () => {
    const { order, got } = make(10)
    order.accept(commit(0))
    order.accept(commit(3))
    order.close()
    order.accept(commit(1))
    await new Promise((r) => setTimeout(r, 30))
    expect(got).toEqual([[0, 1]])
  })
})
