/** The sync loop's timings and limits, and the defaults a client uses unless told otherwise. */
import type { BackoffOptions } from './backoff.ts'
import type { RetryOptions } from './pusher.ts'

/** Timings and limits of the loop. */
export interface SyncTimings {
  /**
   * Under load (a push under way, or one started this recently), wait this long after a local
   * write before pushing, to batch a stream of edits. Idle, a write is pushed on the next turn.
   */
  readonly pushDebounceMs: number
  /** Over HTTP (no socket), how often to pull, push and try the socket again. */
  readonly pollIntervalMs: number
  /** Delays between reconnection attempts. */
  readonly reconnect: BackoffOptions
  readonly connectTimeoutMs: number
  readonly pingIntervalMs: number
  readonly deadAfterMs: number
  /** HTTP pull page size. */
  readonly pullLimit: number
  /** Most mutations per push. */
  readonly maxBatch: number
  /** Most characters of JSON per push (the server's default frame limit is 1 MiB). */
  readonly maxBatchChars: number
  readonly retry: RetryOptions
}

/** The timings a client uses unless told otherwise. */
export const DEFAULT_TIMINGS: SyncTimings = Object.freeze({
  pushDebounceMs: 20,
  pollIntervalMs: 10_000,
  reconnect: { baseMs: 500, maxMs: 30_000 },
  connectTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  deadAfterMs: 20_000,
  pullLimit: 1000,
  maxBatch: 100,
  maxBatchChars: 256 * 1024,
  retry: { baseMs: 1000, maxMs: 60_000, maxAttempts: 8 },
})
