/**
 * What every store does alike around its calls: refuse them once closed, and let `close`
 * wait for the calls made before it.
 */
import { storeClosedError } from './local-store.ts'

/** Tracks a store's calls in flight. */
export interface CallTracker {
  /** Runs a call unless the store is closed (then rejects at once). */
  run<T>(call: () => Promise<T>): Promise<T>
  /** Refuses new calls, waits for those in flight, then runs `release` (once). */
  close(release: () => Promise<void> | void): Promise<void>
}

/** A tracker for the store `name` (used in error messages). */
export function createCallTracker(name: string): CallTracker {
  const inFlight = new Set<Promise<unknown>>()
  let closing: Promise<void> | undefined
  return {
    run(call) {
      if (closing) return Promise.reject(storeClosedError(name))
      const p = call()
      inFlight.add(p)
      const forget = () => inFlight.delete(p)
      p.then(forget, forget)
      return p
    },
    close(release) {
      closing ??= Promise.allSettled([...inFlight]).then(() => release())
      return closing
    },
  }
}
