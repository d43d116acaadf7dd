/** Retry delays: exponential growth with jitter, so that many clients do not retry in step. */

/** The bounds of a backoff. */
export interface BackoffOptions {
  /** The delay before the first retry, before jitter. */
  readonly baseMs: number
  /** The largest delay. */
  readonly maxMs: number
}

/**
 * The delay before retry number `attempt` (1 for the first): `baseMs · 2^(attempt-1)`, capped at
 * `maxMs`, then "equal jitter": half of it fixed, the other half random, so a delay is never 0.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)))
  return ceiling / 2 + (random() * ceiling) / 2
}
