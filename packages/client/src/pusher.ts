/**
 * Pushing the outbox (§4): batches in `mid` order, one at a time. Each batch is marked
 * SYNCING with its attempt counted and persisted before it is sent, so that after a crash a
 * `duplicate` answer can be told apart from a reused `mid`. A batch the server did not answer
 * (or refused for its credentials, which are no fault of the batch) goes back to PENDING as it
 * was; one it refused waits out a jittered backoff, and its mutations turn FAILED after the
 * last attempt.
 */
import { type BackoffOptions, backoffDelay } from './backoff.ts'
import { errorInfo, isNetworkError, isUnauthorized, isUnavailable } from './errors.ts'
import { MAX_REJECTED, trimRejected } from './rejections.ts'
import type { Replica } from './replica.ts'
import { adoptLastMid, applyPushResponse, type PushEvents } from './server-apply.ts'
import type { OutboxEntry } from './stores/local-store.ts'
import type { SyncChannel } from './sync-channel.ts'

/** How mutations are retried. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts before a mutation turns FAILED. */
  readonly maxAttempts: number
}

/** What `createPusher` takes. */
export interface PusherOptions {
  replica: Replica
  /** Most mutations per push. */
  maxBatch: number
  /** Most characters of JSON per push (beyond its first mutation). */
  maxBatchChars: number
  retry: RetryOptions
  events: PushEvents
  /** Called after each answered push. */
  answered(): void
  /** Where failures to store the bookkeeping go. */
  onError(error: unknown): void
  random?: () => number
}

/** Pushes the outbox. */
export interface Pusher {
  /**
   * Pushes every mutation that may go now through `channel`, batch after batch; one run at a
   * time (a call during a run joins it). Rejects with the error that stopped it: a
   * NetworkError (the channel is gone) or the server's refusal of a batch.
   */
  run(channel: SyncChannel): Promise<void>
}

/** Creates the pusher of a replica. */
export function createPusher(options: PusherOptions): Pusher {
  const { replica, maxBatch, maxBatchChars, retry } = options
  const { outbox } = replica
  let running: Promise<void> | undefined

  function fail(batch: readonly OutboxEntry[], error: unknown): void {
    const txn = replica.begin()
    const now = replica.clock.now()
    for (const sent of batch) {
      const entry = outbox.get(sent.mutation.mid)
      if (entry?.status !== 'SYNCING') continue
      if (isNetworkError(error) || isUnauthorized(error) || isUnavailable(error)) {
        // Unanswered (it may have landed), or refused whole by a server that applied nothing:
        // it goes again as it is when the connection is back.
        outbox.put({ ...entry, status: 'PENDING' }, txn.batch)
        continue
      }
      const failed = entry.attempts >= retry.maxAttempts
      outbox.put(
        {
          ...entry,
          status: failed ? 'FAILED' : 'PENDING',
          lastError: errorInfo(error),
          nextAttemptAt: failed ? 0 : now + backoffDelay(entry.attempts, retry, options.random),
        },
        txn.batch,
      )
    }
    replica.endInBackground(txn)
  }

  /** Past MAX_REJECTED refused mutations kept, the oldest are discarded: the app hears how many through `onError`. */
  function keepRejectedBounded(): void {
    if (outbox.counts().rejected <= MAX_REJECTED) return
    const txn = replica.begin()
    const dropped = trimRejected(replica, txn)
    replica.endInBackground(txn)
    options.onError(new Error(`${dropped} refused mutations were discarded: at most ${MAX_REJECTED} are kept (see client.rejections())`))
  }

  /** Mutations the answer did not mention go back to PENDING. */
  function release(batch: readonly OutboxEntry[]): void {
    const txn = replica.begin()
    for (const sent of batch) {
      const entry = outbox.get(sent.mutation.mid)
      if (entry?.status === 'SYNCING') outbox.put({ ...entry, status: 'PENDING' }, txn.batch)
    }
    replica.endInBackground(txn)
  }

  /** A batch that did not leave goes back to PENDING with the attempt it was given taken back. */
  function unsent(batch: readonly OutboxEntry[]): void {
    const txn = replica.begin()
    for (const sent of batch) {
      const entry = outbox.get(sent.mutation.mid)
      if (entry?.status === 'SYNCING') outbox.put({ ...entry, status: 'PENDING', attempts: entry.attempts - 1 }, txn.batch)
    }
    replica.endInBackground(txn)
  }

  async function loop(channel: SyncChannel): Promise<void> {
    for (;;) {
      const taken = outbox.takeBatch(replica.clock.now(), maxBatch, maxBatchChars)
      if (taken.length === 0) return
      const txn = replica.begin()
      const batch = taken.map((entry) => {
        const sending: OutboxEntry = { ...entry, status: 'SYNCING', attempts: entry.attempts + 1 }
        outbox.put(sending, txn.batch)
        return sending
      })
      // The attempt must be on disk before the mutations leave (see the duplicate rule in server-apply).
      try {
        await replica.end(txn)
      } catch (e) {
        release(batch)
        throw e
      }
      if (!outbox.knowsLastMid) {
        // A store that never heard the device's lastMid asks first (an empty push): the device may
        // have pushed from another store, whose mids this one hands out again. Sent unasked, a
        // mutation answered `duplicate` could not be told from one that landed before its answer
        // was lost, and would be dropped. A refusal counts as an attempt of the batch.
        let answer: Awaited<ReturnType<SyncChannel['push']>>
        try {
          answer = await channel.push([])
        } catch (e) {
          fail(batch, e)
          throw e
        }
        unsent(batch)
        await adoptLastMid(replica, answer.lastMid)
        continue
      }
      let response: Awaited<ReturnType<SyncChannel['push']>>
      try {
        response = await channel.push(batch.map((entry) => entry.mutation))
      } catch (e) {
        fail(batch, e)
        throw e
      }
      applyPushResponse(replica, response, options.events).catch(options.onError)
      keepRejectedBounded()
      release(batch)
      options.answered()
    }
  }

  return {
    run(channel) {
      running ??= loop(channel).finally(() => {
        running = undefined
      })
      return running
    },
  }
}
