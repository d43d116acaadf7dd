/**
 * What the sync loop tells the app about its work: failures (into the status, and to `onError`
 * unless they are network failures, which are expected, or the same failure again, which a
 * retry loop must not flood it with), whether work is under way, and when it last caught up.
 */
import { errorInfo, isNetworkError } from './errors.ts'
import { META, type Replica } from './replica.ts'
import type { StatusStore } from './sync-status.ts'

/** The loop's reporting. */
export interface SyncReporter {
  report(error: unknown): void
  /** Marks the status `syncing` while `work` runs. */
  track<T>(work: Promise<T>): Promise<T>
  /** Records that the client just caught up (or had a push answered), persisted. */
  synced(): void
}

/** A reporter over the status of `replica`'s client. */
export function createSyncReporter(replica: Replica, status: StatusStore, onError: (error: unknown) => void): SyncReporter {
  let busy = 0
  return {
    report(error) {
      const info = errorInfo(error)
      const last = status.get().lastError
      const repeated = last !== null && last.code === info.code && last.message === info.message
      status.update({ lastError: { ...info, at: new Date(replica.clock.now()).toISOString() } })
      if (!isNetworkError(error) && !repeated) onError(error)
    },
    async track(work) {
      busy += 1
      status.update({ syncing: true })
      try {
        return await work
      } finally {
        busy -= 1
        if (busy === 0) status.update({ syncing: false })
      }
    },
    synced() {
      const at = new Date(replica.clock.now()).toISOString()
      replica.lastSyncedAt = at
      const txn = replica.begin()
      txn.batch.setMeta(META.lastSyncedAt, at)
      replica.endInBackground(txn)
      status.update({ lastSyncedAt: at })
    },
  }
}
