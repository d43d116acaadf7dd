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
      if (closing !== undefined) return Promise.reject(storeClosedError(name))
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

/** A store's connection, opened once. */
export interface Opening<T> {
  /** The connection; rejects with why opening failed (on every call: a failed opening is never an unhandled rejection). */
  get(): Promise<T>
  /** The connection if it opened, undefined if opening failed (for `close`: nothing to release then). */
  ifOpened(): Promise<T | undefined>
}

/** Holds the outcome of `open` as a value, so that a failure waits for the calls that need it. */
export function openOnce<T>(open: Promise<T>): Opening<T> {
  const outcome: Promise<{ value: T } | { error: unknown }> = open.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  return {
    async get() {
      const o = await outcome
      if ('error' in o) throw o.error
      return o.value
    },
    async ifOpened() {
      const o = await outcome
      return 'error' in o ? undefined : o.value
    },
  }
}
