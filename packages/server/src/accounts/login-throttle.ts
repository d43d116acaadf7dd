/**
 * Slowing password guessing without locking anyone out. Two counts, in
 * memory, per process:
 *
 * - per account and address: the first `freeAttempts` failures cost nothing; after that each
 *   attempt must wait 1 s, 2 s, 4 s … (at most `maxDelayMs`) after the previous failure, and
 *   only one attempt may be under way at a time. A success forgets the count; so does an hour
 *   without failures. The right password from another address is never delayed.
 * - per address: at most `addressBurst` failures, refilled evenly over 15 minutes (a token
 *   bucket). It stops one address from guessing across many accounts; once the guessing stops
 *   the address is free again within seconds, so the others behind it are never shut out for
 *   long. Behind a proxy, set `trustProxy` so the address is the client's, not the proxy's.
 *
 * A refused attempt gets `429 rate_limited` with `retry-after` (no answer is held back, so
 * waiting costs the server nothing). Keys are kept as fixed-size hashes; at most `maxKeys`
 * entries per count, about 200 bytes each (about 20 MB for both at the default 50,000).
 */
import { DEFAULT_MAX_LIMITER_KEYS, limiterKey, RateLimitedError } from './rate-limiter.ts'

/** The login throttle's defaults. */
export const DEFAULT_LOGIN_THROTTLE = Object.freeze({ freeAttempts: 5, maxDelayMs: 5 * 60_000, addressBurst: 100 })

/** Settings of the login throttle. */
export interface LoginThrottleOptions {
  /** Failures per account and address before delays start (default 5). */
  freeAttempts?: number
  /** Longest delay between attempts on one account from one address (default 5 minutes). */
  maxDelayMs?: number
  /** Failures one address may make in a burst, refilled over 15 minutes (default 100). */
  addressBurst?: number
  maxKeys?: number
  /** The clock, ms (tests). */
  now?: () => number
}

/** One login attempt under way: end it exactly once. */
export interface LoginAttempt {
  /** Wrong username or password. */
  failed(): void
  /** The password was right. */
  succeeded(): void
  /** Neither: the attempt could not be decided (a database failure). */
  abandoned(): void
}

/** What the login route asks of the throttle. */
export interface LoginThrottle {
  /** Throws `rate_limited` when this attempt must wait; otherwise counts it as under way. */
  begin(account: string, address: string): LoginAttempt
}

const FIRST_DELAY_MS = 1000
const FORGET_AFTER_MS = 60 * 60_000
const ADDRESS_REFILL_WINDOW_MS = 15 * 60_000

interface PairState {
  failures: number
  lastFailureAt: number
  pending: number
}

interface Bucket {
  tokens: number
  at: number
}

function dropOldest(map: Map<string, unknown>, maxKeys: number): void {
  while (map.size > maxKeys) {
    const oldest = map.keys().next()
    if (oldest.done) return
    map.delete(oldest.value)
  }
}

/** Creates the throttle. */
export function createLoginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const now = options.now ?? Date.now
  const free = options.freeAttempts ?? DEFAULT_LOGIN_THROTTLE.freeAttempts
  const maxDelay = options.maxDelayMs ?? DEFAULT_LOGIN_THROTTLE.maxDelayMs
  const burst = options.addressBurst ?? DEFAULT_LOGIN_THROTTLE.addressBurst
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_LIMITER_KEYS
  const refillPerMs = burst / ADDRESS_REFILL_WINDOW_MS
  const pairs = new Map<string, PairState>()
  const addresses = new Map<string, Bucket>()
  let sweptAt = now()

  const pairKey = (account: string, address: string) => limiterKey(`${account.toLowerCase()}\u0000${address}`)
  const delayAfter = (failures: number) => Math.min(maxDelay, FIRST_DELAY_MS * 2 ** Math.min(30, failures - free))

  function sweep(t: number): void {
    if (t - sweptAt < 60_000) return
    sweptAt = t
    for (const [key, p] of pairs) if (p.pending === 0 && t - p.lastFailureAt >= FORGET_AFTER_MS) pairs.delete(key)
    for (const [key, b] of addresses) if (b.tokens + (t - b.at) * refillPerMs >= burst) addresses.delete(key)
  }

  function bucketOf(address: string, t: number): Bucket {
    const key = limiterKey(address)
    const b = addresses.get(key) ?? { tokens: burst, at: t }
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * refillPerMs)
    b.at = t
    addresses.delete(key)
    addresses.set(key, b)
    dropOldest(addresses, maxKeys)
    return b
  }

  return {
    begin(account, address) {
      const t = now()
      sweep(t)
      const bucket = bucketOf(address, t)
      // A hair of tolerance: after waiting `retry-after` to the second, the token is there.
      if (bucket.tokens < 1 - 1e-9) {
        const wait = Math.max(1, Math.ceil(Math.round((1 - bucket.tokens) / refillPerMs) / 1000))
        throw new RateLimitedError(`too many failed logins from this address: retry in ${wait} s`, wait)
      }
      const key = pairKey(account, address)
      const pair = pairs.get(key) ?? { failures: 0, lastFailureAt: 0, pending: 0 }
      if (pair.failures + pair.pending >= free) {
        const readyAt = pair.failures >= free ? pair.lastFailureAt + delayAfter(pair.failures) : t
        if (pair.pending > 0 || t < readyAt) {
          const wait = Math.max(1, Math.ceil((readyAt - t) / 1000))
          throw new RateLimitedError(`too many failed logins for this account: retry in ${wait} s`, wait)
        }
      }
      pair.pending += 1
      pairs.delete(key)
      pairs.set(key, pair)
      dropOldest(pairs, maxKeys)
      let open = true
      const end = (): boolean => {
        if (!open) return false
        open = false
        pair.pending = Math.max(0, pair.pending - 1)
        return true
      }
      return {
        failed() {
          if (!end()) return
          const at = now()
          pair.failures += 1
          pair.lastFailureAt = at
          // The pair may have been dropped meanwhile (memory bound): count it again.
          if (!pairs.has(key)) {
            pairs.set(key, pair)
            dropOldest(pairs, maxKeys)
          }
          bucketOf(address, at).tokens -= 1
        },
        succeeded() {
          if (end()) pairs.delete(key)
        },
        abandoned() {
          end()
        },
      }
    },
  }
}
