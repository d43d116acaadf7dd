/**
 * A fixed-window counter per key (a device, an API token): at most `limit` hits per `windowMs`.
 * In memory, per process: each process of a cluster limits on its own.
 *
 * Memory is bounded whatever callers send: a key is kept as a 128-bit hash (22 characters),
 * never as given; windows that ended are swept; and at most `maxKeys` windows are kept (the
 * least recently hit is dropped first). A window costs about 200 bytes, so the default 50,000
 * keys bound a limiter at about 10 MB (`test/memory-credentials.test.ts` measures it).
 */
import { createHash } from 'node:crypto'
import { PulseError } from '@pulse/core'

/** Most windows a limiter keeps unless told otherwise. */
export const DEFAULT_MAX_LIMITER_KEYS = 50_000

/** Counts hits per key. */
export interface RateLimiter {
  /** Counts a hit; throws `rate_limited` (with the seconds to wait) once over the limit. */
  hit(key: string): void
  /** Windows kept now (tests, metrics). */
  readonly size: number
}

/** Thrown when a caller must wait: a PulseError with `retryAfterSeconds` (the `retry-after` header). */
export class RateLimitedError extends PulseError {
  readonly retryAfterSeconds: number
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The fixed-size form a limiter keeps of a key: 128 bits of its SHA-256, base64url. */
export function limiterKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22)
}

/** Creates a limiter; `now` (ms) is for tests. */
export function createRateLimiter(options: {
  limit: number
  windowMs: number
  what: string
  now?: () => number
  maxKeys?: number
}): RateLimiter {
  const now = options.now ?? Date.now
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_LIMITER_KEYS
  // In order of last hit: the first entries are the ones to drop when full.
  const windows = new Map<string, { start: number; count: number }>()
  let sweptAt = now()

  function sweep(t: number): void {
    if (t - sweptAt < options.windowMs) return
    sweptAt = t
    for (const [key, w] of windows) if (t - w.start >= options.windowMs) windows.delete(key)
  }

  return {
    hit(raw) {
      const t = now()
      sweep(t)
      const key = limiterKey(raw)
      let w = windows.get(key)
      if (!w || t - w.start >= options.windowMs) w = { start: t, count: 0 }
      w.count += 1
      windows.delete(key)
      windows.set(key, w)
      if (windows.size > maxKeys) {
        const oldest = windows.keys().next()
        if (!oldest.done) windows.delete(oldest.value)
      }
      if (w.count > options.limit) {
        const wait = Math.max(1, Math.ceil((w.start + options.windowMs - t) / 1000))
        throw new RateLimitedError(`too many ${options.what}: retry in ${wait} s`, wait)
      }
    },
    get size() {
      return windows.size
    },
  }
}
