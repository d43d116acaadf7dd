/**
 * Persistence in the background, in order: writes queue up while a commit is under way and go
 * to the store together in the next one (group commit), so a burst of edits costs one
 * transaction, not one each.
 */
import { BatchBuilder } from './batch-builder.ts'
import type { LocalStore, StoreBatch } from './stores/local-store.ts'

/** The client's one way to write to its store. */
export interface WriteQueue {
  /**
   * Queues the writes; resolves once they are committed, rejects if their commit failed. The
   * caller handles the rejection (awaits it, or hands it to its `onError`).
   */
  write(writes: BatchBuilder): Promise<void>
  /** Resolves once everything queued so far has been committed (or has failed). */
  idle(): Promise<void>
}

interface Waiter {
  resolve(): void
  reject(error: unknown): void
}

/** A queue over `store`; `committed` hears of every batch once it is in the store. */
export function createWriteQueue(store: LocalStore, committed?: (batch: StoreBatch) => void): WriteQueue {
  let next: BatchBuilder | undefined
  let waiters: Waiter[] = []
  let running: Promise<void> | undefined

  async function drain(): Promise<void> {
    while (next) {
      const batch = next.toBatch()
      const settled = waiters
      next = undefined
      waiters = []
      try {
        await store.commit(batch)
      } catch (e) {
        for (const w of settled) w.reject(e)
        continue
      }
      committed?.(batch)
      for (const w of settled) w.resolve()
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
      return done
    },
    idle() {
      return running ?? Promise.resolve()
    },
  }
}
