/**
 * The adaptive push after a local write (sync-work.ts): idle, the write goes on the next turn
 * (the writes of one turn together); under load, after the debounce, in one batch. Time is a
 * clock moved by hand: no real timer decides anything.
 */
import { describe, expect, it } from 'vitest'
import { ManualClock } from './manual-clock.test-support.ts'
import type { Pusher } from './pusher.ts'
import type { Replica } from './replica.ts'
import type { SyncChannel } from './sync-channel.ts'
import type { SyncReporter } from './sync-reporter.ts'
import type { StatusStore } from './sync-status.ts'
import { createSyncWork, type SyncWork } from './sync-work.ts'

const DEBOUNCE = 20

interface Setup {
  clock: ManualClock
  work: SyncWork
  /** The time each push started. */
  pushes: number[]
  /** Ends the push under way. */
  answer(): void
}

function setup(): Setup {
  const clock = new ManualClock()
  const pushes: number[] = []
  let answer = () => {}
  const pusher: Pusher = {
    run() {
      pushes.push(clock.now())
      return new Promise<void>((resolve) => {
        answer = resolve
      })
    },
  }
  const replica = { outbox: { counts: () => ({ pending: 1 }), nextDueAt: () => undefined } } as unknown as Replica
  const reporter: SyncReporter = { report: () => {}, track: (w) => w, synced: () => {} }
  const channel = {} as SyncChannel
  const work = createSyncWork({
    replica,
    pusher,
    reporter,
    status: { setCaughtUp: () => {} } as unknown as StatusStore,
    clock,
    pushDebounceMs: DEBOUNCE,
    signal: new AbortController().signal,
    channel: () => channel,
    failed: (_c, e) => {
      throw e
    },
    resynced: () => {},
  })
  return { clock, work, pushes, answer: () => answer() }
}

describe('the push after a local write', () => {
  it('goes on the next turn when idle, the writes of one turn in one push', async () => {
    const { clock, work, pushes, answer } = setup()
    const start = clock.now()
    work.localWrite()
    work.localWrite()
    work.localWrite()
    await clock.advance(0)
    expect(pushes).toEqual([start])
    answer()
    await work.stop()
  })

  it('waits the debounce under load, then sends what gathered in one push', async () => {
    const s = setup()
    const start = s.clock.now()
    s.work.localWrite()
    await s.clock.advance(0)
    expect(s.pushes).toEqual([start])
    // A push is under way: writes wait the debounce, together.
    await s.clock.advance(5)
    s.work.localWrite()
    s.work.localWrite()
    await s.clock.advance(DEBOUNCE - 1)
    expect(s.pushes).toHaveLength(1)
    s.answer()
    await s.clock.advance(1)
    expect(s.pushes).toEqual([start, start + 5 + DEBOUNCE])
    s.answer()
    // Answered, but a push started less than the debounce ago: still under load.
    await s.clock.advance(DEBOUNCE - 1)
    s.work.localWrite()
    await s.clock.advance(0)
    expect(s.pushes).toHaveLength(2)
    await s.clock.advance(DEBOUNCE)
    expect(s.pushes).toHaveLength(3)
    s.answer()
    // Quiet for longer than the debounce: idle again, the next write goes at once.
    await s.clock.advance(DEBOUNCE * 2)
    const at = s.clock.now()
    s.work.localWrite()
    await s.clock.advance(0)
    expect(s.pushes.at(-1)).toBe(at)
    s.answer()
    await s.work.stop()
  })
})
