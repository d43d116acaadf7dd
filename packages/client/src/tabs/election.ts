/**
 * Which tab owns a shared store: the holder of the Web Lock named after it. A tab that gets it
 * keeps it until it closes; the browser releases it when the tab's page goes away, crashed or
 * not, and grants it to the next tab waiting. So at most one tab syncs and writes the store,
 * and another takes over as soon as it is gone.
 */
import { isAbortError } from '../errors.ts'
import { abortController } from '../platform.ts'
import type { LockManagerLike } from './tab-channel.ts'

/** A tab's claim on a store. */
export interface Leadership {
  /** The lock was free: this tab owns the store from now on. */
  readonly leading: boolean
  /** Resolves once this tab owns the store (at once, or when the owner is gone). */
  readonly granted: Promise<void>
  /** Lets the lock go (or stops waiting for it). */
  release(): void
}

/** Claims the lock `name`: takes it if it is free, else waits for it in the background. */
export async function claimLeadership(locks: LockManagerLike, name: string, onError: (error: unknown) => void): Promise<Leadership> {
  let releaseHeld = (): void => {}
  const held = new Promise<void>((resolve) => {
    releaseHeld = resolve
  })
  let grant = (): void => {}
  const granted = new Promise<void>((resolve) => {
    grant = resolve
  })
  const leading = await new Promise<boolean>((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null && lock !== undefined)
        if (!lock) return undefined
        grant()
        return held
      })
      .catch(reject)
  })
  const waiting = abortController()
  if (!leading) {
    locks
      .request(name, { signal: waiting.signal }, () => {
        grant()
        return held
      })
      .catch((e: unknown) => {
        if (!isAbortError(e)) onError(e)
      })
  }
  return {
    leading,
    granted,
    release() {
      waiting.abort()
      releaseHeld()
    },
  }
}
