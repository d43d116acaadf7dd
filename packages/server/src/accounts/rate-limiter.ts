/**
 * A fixed-window counter per key (an account, an address, a token): at most `limit` hits per
 * `windowMs`. In memory, per process: each process of a cluster limits on its own.
 */
import { PulseError } from '@pulse/core'

/** Counts hits per key. */
export interface RateLimiter {
  /** Counts a hit; throws `rate_limited` (with the seconds to wait) once over the limit. */
  hit(key: string): void
  /** True when the key is over its limit now, without counting. */
  blocked(key: string): boolean
  /** Forgets a key (e.g. after a successful login). */
  reset(key: string): void
}

/** Thrown by `hit`: a PulseError with `retryAfterSeconds`. */
export class RateLimitedError extends PulseError {
  readonly retryAfterSeconds: number
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** Creates a limiter; `now` (ms) is for tests. Keys are kept at most `maxKeys` (oldest dropped). */
export function createRateLimiter(options: {
  limit: number
  windowMs: number
  what: string
  now?: () => number
  maxKeys?: number
}): RateLimiter {
  const now = options.now ?? Date.now
  const maxKeys = options.maxKeys ?? 100_000
  const windows = new Map<string, { start: number; count: number }>()
  const current = (key: string) => {
    const t = now()
    const w = windows.get(key)
    if (!w || t - w.start >= options.windowMs) return { start: t, count: 0 }
    return w
  }
  return {
    hit(key) {
      const w = current(key)
      w.count += 1
      windows.delete(key)
      windows.set(key, w)
      if (windows.size > maxKeys) {
        const oldest = windows.keys().next()
        if (!oldest.done) windows.delete(oldest.value)
      }
      if (w.count > options.limit) {
        const wait = Math.max(1, Math.ceil((w.start + options.windowMs - now()) / 1000))
        throw new RateLimitedError(`too many ${options.what}: retry in ${wait} s`, wait)
      }
    },
    blocked(key) {
      return current(key).count >= options.limit
    },
    reset(key) {
      windows.delete(key)
    },
  }
}
