/**
 * Persistence in the background, in order: writes queue up while a commit is under way and go
 * to the store together in the next one (group commit), so a burst of edits costs one
 * transaction, not one each.
 */
import { BatchBuilder } from './batch-builder.ts'
import type { LocalStore } from './stores/local-store.ts'

/** The client's one way to write to its store. */
export interface WriteQueue {
  /** Queues the writes; resolves once they are committed, rejects if their commit failed. */
  write(writes: BatchBuilder): Promise<void>
  /** Resolves once everything queued so far has been committed (or has failed). */
  idle(): Promise<void>
}

interface Waiter {
  resolve(): void
  reject(error: unknown): void
}

/** A queue over `store`; each failed commit is also told to `onError`. */
export function createWriteQueue(store: LocalStore, onError: (error: unknown) => void): WriteQueue {
  let next: BatchBuilder | undefined
  let waiters: Waiter[] = []
  let running: Promise<void> | undefined

  async function drain(): Promise<void> {
    while (next) {
      const batch = next
      const settled = waiters
      next = undefined
      waiters = []
      try {
        await store.commit(batch.toBatch())
        for (const w of settled) w.resolve()
      } catch (e) {
        onError(e)
        for (const w of settled) w.reject(e)
      }
    }
    running = undefined
  }

  return {
    write(writes) {
      if (writes.isEmpty) return Promise.resolve()
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }))
      if (next) next.absorb(writes)
      else {
        next = new BatchBuilder()
        next.absorb(writes)
      }
      running ??= drain()
      // Failures already went to onError: a caller that does not wait must not cause an unhandled rejection.
      done.catch(() => {})
      return done
    },
    idle() {
      return running ?? Promise.resolve()
    },
  }
}
