import { describe, expect, it } from 'vitest'
import { createLoginThrottle } from './login-throttle.ts'
import { createRateLimiter, RateLimitedError } from './rate-limiter.ts'

describe('rate limiter', () => {
  it('limits per key within a window and starts afresh in the next', () => {
    let t = 0
    const limiter = createRateLimiter({ limit: 3, windowMs: 1000, what: 'hits', now: () => t })
    for (let i = 0; i < 3; i++) limiter.hit('a')
    expect(() => limiter.hit('a')).toThrow(RateLimitedError)
    limiter.hit('b')
    t = 1000
    limiter.hit('a')
  })

  it('keeps keys as fixed-size hashes, sweeps ended windows and never holds more than maxKeys', () => {
    let t = 0
    const limiter = createRateLimiter({ limit: 1, windowMs: 1000, what: 'hits', now: () => t, maxKeys: 100 })
    for (let i = 0; i < 1000; i++) limiter.hit(`${i}${'x'.repeat(10_000)}`)
    expect(limiter.size).toBe(100)
    t = 5000
    limiter.hit('late')
    expect(limiter.size).toBe(1)
  })
})

describe('login throttle', () => {
  it('slows one account from one address exponentially, not others, and forgets after a success', () => {
    let t = 0
    const throttle = createLoginThrottle({ now: () => t })
    for (let i = 0; i < 5; i++) throttle.begin('ada', '1.1.1.1').failed()
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      try {
        throttle.begin('ada', '1.1.1.1')
        throw new Error('not throttled')
      } catch (e) {
        waits.push((e as RateLimitedError).retryAfterSeconds)
      }
      t += (waits[i] as number) * 1000
      throttle.begin('ada', '1.1.1.1').failed()
    }
    expect(waits).toEqual([1, 2, 4, 8])
    // Another address, or another account, is not held back.
    throttle.begin('ada', '2.2.2.2').succeeded()
    throttle.begin('bob', '1.1.1.1').succeeded()
    // After waiting, the right password goes through and the count is forgotten.
    t += 16_000
    throttle.begin('ada', '1.1.1.1').succeeded()
    for (let i = 0; i < 5; i++) throttle.begin('ada', '1.1.1.1').failed()
  })

  it('lets one attempt at a time through once delays apply; an abandoned attempt frees its slot', () => {
    const throttle = createLoginThrottle({ freeAttempts: 1, now: () => 0 })
    const first = throttle.begin('ada', 'x')
    expect(() => throttle.begin('ada', 'x')).toThrow(RateLimitedError)
    first.abandoned()
    throttle.begin('ada', 'x').failed()
    expect(() => throttle.begin('ada', 'x')).toThrow(RateLimitedError)
  })

  it('holds an address back after a burst of failures across accounts, and frees it as it refills', () => {
    let t = 0
    const throttle = createLoginThrottle({ addressBurst: 4, now: () => t })
    for (let i = 0; i < 4; i++) throttle.begin(`user${i}`, 'proxy').failed()
    let wait = 0
    try {
      throttle.begin('someone-else', 'proxy')
    } catch (e) {
      wait = (e as RateLimitedError).retryAfterSeconds
    }
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(225) // 15 minutes / 4
    t += wait * 1000
    throttle.begin('someone-else', 'proxy').succeeded()
  })
})
