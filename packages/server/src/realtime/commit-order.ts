/**
 * Puts bus messages back in position order (PROTOCOL.md §6: live changes in commit order).
 * Processes publish independently, so commits can arrive out of order; a commit whose `prev`
 * is past the last dispatched position waits for the gap to fill, for a short while. When the
 * wait runs out (a lost message, a rolled-back position) the head jumps over the gap and the
 * fan-out pokes whoever is behind: they pull, and a pull has no gaps (§2).
 */
import type { BusMessage } from '../bus/bus.ts'

/** How long a commit waits for the commits before it, unless told otherwise. */
export const DEFAULT_GAP_WAIT_MS = 100
/** Most commits held back at once; past this the head jumps at once. */
export const MAX_HELD_COMMITS = 10_000

/** What `createCommitOrder` takes. */
export interface CommitOrderOptions {
  /** Receives each commit once, in position order (`prev` ≤ the previous one's `last`). */
  dispatch(message: BusMessage): void
  gapWaitMs?: number
  maxHeld?: number
  /** Where a failing dispatch goes. */
  onError(error: unknown): void
}

/** The ordering state of one process. */
export interface CommitOrder {
  /** The last position dispatched in order; undefined until the first message. */
  readonly head: number | undefined
  /** Commits waiting for a gap to fill. */
  readonly held: number
  /** Takes a message from the bus. */
  accept(message: BusMessage): void
  /** Drops held messages and stops the timer. */
  close(): void
}

/**
 * Orders commits. The first message sets the head to its `prev` (this process knows nothing
 * before it); a message wholly at or before the head is late (its positions were skipped by a
 * jump, and whoever was behind them was poked) and is dropped.
 */
export function createCommitOrder(options: CommitOrderOptions): CommitOrder {
  const gapWaitMs = options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS
  const maxHeld = options.maxHeld ?? MAX_HELD_COMMITS
  const held = new Map<number, BusMessage>()
  let head: number | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false

  function send(message: BusMessage): void {
    head = Math.max(head ?? message.last, message.last)
    try {
      options.dispatch(message)
    } catch (e) {
      options.onError(e)
    }
  }

  function drain(): void {
    for (let next = held.get(head ?? -1); next; next = held.get(head ?? -1)) {
      held.delete(next.prev)
      send(next)
    }
    // Anything held back now belongs to a later gap; it gets a fresh wait.
    if (timer) clearTimeout(timer)
    timer = held.size > 0 ? setTimeout(jump, gapWaitMs) : undefined
    timer?.unref()
  }

  function jump(): void {
    timer = undefined
    if (closed || held.size === 0) return
    let first = Number.POSITIVE_INFINITY
    for (const prev of held.keys()) first = Math.min(first, prev)
    head = first
    drain()
  }

  return {
    get head() {
      return head
    },
    get held() {
      return held.size
    },
    accept(message) {
      if (closed) return
      if (head === undefined) head = message.prev
      if (message.last <= head) return
      if (message.prev <= head) {
        send(message)
        drain()
        return
      }
      held.set(message.prev, message)
      if (held.size > maxHeld) jump()
      else if (!timer) {
        timer = setTimeout(jump, gapWaitMs)
        timer.unref()
      }
    },
    close() {
      closed = true
      held.clear()
      if (timer) clearTimeout(timer)
      timer = undefined
    },
  }
}
