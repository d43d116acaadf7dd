/**
 * A first-come first-served async mutex. SQLite has one writer connection; transactions on it
 * must not interleave across `await`s, so each one holds this lock from BEGIN to COMMIT.
 */
export interface Mutex {
  /** Runs `fn` once every earlier holder has finished; releases the lock however `fn` ends. */
  run<T>(fn: () => Promise<T> | T, signal?: AbortSignal): Promise<T>
}

/** Creates an unlocked mutex. */
export function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve()
  return {
    async run<T>(fn: () => Promise<T> | T, signal?: AbortSignal): Promise<T> {
      signal?.throwIfAborted()
      const previous = tail
      let release = (): void => {}
      tail = new Promise<void>((resolve) => {
        release = resolve
      })
      try {
        await previous
        // The wait may have been long: a caller that gave up meanwhile does not start.
        signal?.throwIfAborted()
        return await fn()
      } finally {
        release()
      }
    },
  }
}
