/**
 * Refusals: an op the engine will not apply, as data (one per op), never as a thrown batch.
 * Errors are recognised by their code (`isPulseError`), so one thrown by another copy of
 * `@pulse/core` — a custom merge function or rule bundled with its own copy — is still a
 * refusal of its op and not a failure of the whole batch.
 */
import { isPulseError, PulseError } from '@pulse/core'

/** An op refused, with the error its answer carries (§4 `rejected`, or the §7 body of a plain write). */
export interface Refused {
  readonly ok: false
  readonly error: PulseError
}

/**
 * The refusal for what a check threw: a PulseError (of any copy of the package, recognised by
 * `name` and `code`) becomes one of this copy, with its code, message and details, so what the
 * write path hands on behaves the same whichever copy threw it. Anything
 * else is a fault, not a refusal: it is thrown again, and the batch fails whole.
 */
export function refusalOf(thrown: unknown): Refused {
  if (!isPulseError(thrown)) throw thrown
  const details = Array.isArray(thrown.details) ? thrown.details : undefined
  const message = typeof thrown.message === 'string' ? thrown.message : thrown.code
  return { ok: false, error: new PulseError(thrown.code, message, details) }
}
