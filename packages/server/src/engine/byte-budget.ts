/**
 * A budget of bytes shared by every caller of one process: the pages of pulls and lists being
 * loaded and sent at once hold it, so concurrent large pulls cannot add up past it. A caller
 * waits, first come first served, until what it asks for is free; a request larger than the
 * whole budget takes all of it (it waits for everyone else, then runs alone).
 */
import { PulseError } from '@pulse/core'

/** A shared budget of bytes. */
export interface ByteBudget {
  /** The whole budget. */
  readonly capacity: number
  /** Bytes not held now. */
  readonly available: number
  /**
   * Resolves once `bytes` (at most the capacity) are held, with the function that gives them
   * back (calling it twice gives back once). Rejects with the signal's reason when it aborts first.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<() => void>
}

interface Waiter {
  bytes: number
  grant(): void
}

/** A budget of `capacity` bytes (a positive integer). */
export function createByteBudget(capacity: number): ByteBudget {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`a byte budget is a positive integer, got ${capacity}`)
  let available = capacity
  const waiting: Waiter[] = []

  const grantWaiting = (): void => {
    while (waiting.length > 0 && (waiting[0] as Waiter).bytes <= available) {
      const next = waiting.shift() as Waiter
      available -= next.bytes
      next.grant()
    }
  }

  const releaser = (bytes: number): (() => void) => {
    let held = true
    return () => {
      if (!held) return
      held = false
      available += bytes
      grantWaiting()
    }
  }

  return {
    capacity,
    get available() {
      return available
    },
    acquire(requested, signal) {
      const bytes = Math.min(capacity, Math.max(0, Math.ceil(requested)))
      if (signal?.aborted) return Promise.reject(signal.reason)
      if (waiting.length === 0 && bytes <= available) {
        available -= bytes
        return Promise.resolve(releaser(bytes))
      }
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          bytes,
          grant: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve(releaser(bytes))
          },
        }
        const onAbort = (): void => {
          const at = waiting.indexOf(waiter)
          if (at >= 0) waiting.splice(at, 1)
          grantWaiting()
          reject(signal?.reason ?? new PulseError('internal_error', 'aborted'))
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiting.push(waiter)
      })
    },
  }
}
