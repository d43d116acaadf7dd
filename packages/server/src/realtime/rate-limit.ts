/** A token bucket: how many messages one connection may send (PROTOCOL.md §6, close 4429). */

/** Limits of a token bucket. */
export interface RateLimit {
  /** Sustained messages per second. */
  perSecond: number
  /** Messages allowed in a burst above the sustained rate. */
  burst: number
}

/** The default: 100 messages per second sustained, bursts of 200. */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ perSecond: 100, burst: 200 })

/** A bucket that starts full and refills continuously. `take` spends one token if there is one. */
export function createTokenBucket(limit: RateLimit, now: () => number = () => performance.now()): { take(): boolean } {
  let tokens = limit.burst
  let at = now()
  return {
    take() {
      const t = now()
      tokens = Math.min(limit.burst, tokens + ((t - at) / 1000) * limit.perSecond)
      at = t
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
  }
}
