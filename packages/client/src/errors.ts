/**
 * How the client tells failures apart. Errors the server reports carry a code of core's table
 * (PROTOCOL.md §7) and become PulseErrors; a server that cannot be reached at all (no answer,
 * a timeout, a dropped socket) is a NetworkError, which only says "try again later".
 */
import { ClientAction, ERROR_CODES, type ErrorCode, isPulseError, PulseError } from '@pulse/core'
import type { SyncErrorInfo } from './local-record.ts'

/** The server could not be reached, or the connection dropped before it answered. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'
  readonly code = 'network_error'
}

/**
 * The server sent something this client cannot read (a malformed or unknown message, §6): a
 * server of another protocol version, or a proxy in the way. Reported, never cast.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  readonly code = 'protocol_error'
}

/** True for a NetworkError, even one made by another copy of this package. */
export function isNetworkError(error: unknown): error is NetworkError {
  return (error as { name?: unknown } | null)?.name === 'NetworkError'
}

/** True for a ProtocolError, even one made by another copy of this package. */
export function isProtocolError(error: unknown): error is ProtocolError {
  return (error as { name?: unknown } | null)?.name === 'ProtocolError'
}

/** True when the server refused the credentials (§7 `unauthenticated`): the app should sign in again or refresh its token. */
export function isUnauthorized(error: unknown): boolean {
  return isPulseError(error) && error.code === 'unauthenticated'
}

/**
 * True when the server answered that it cannot serve now and applied nothing (503:
 * `shutting_down`, `database_unavailable`): like an unreachable server, the request goes again
 * as it is once the connection is back, and counts against no mutation's attempts.
 */
export function isUnavailable(error: unknown): boolean {
  return isPulseError(error) && (error.code === 'shutting_down' || error.code === 'database_unavailable')
}

/** True for an AbortError (an operation the caller cancelled). */
export function isAbortError(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError'
}

/** The PulseError for a code the server sent; a code this client does not know becomes `internal_error`. */
export function serverError(code: unknown, message: unknown): PulseError {
  const text = typeof message === 'string' ? message : 'the server refused the request'
  if (typeof code === 'string' && Object.hasOwn(ERROR_CODES, code)) return new PulseError(code as ErrorCode, text)
  return new PulseError('internal_error', `${typeof code === 'string' ? `${code}: ` : ''}${text}`)
}

/** True when the error asks for a pull from no cursor (§2 `cursor_expired`, §8 `scope_changed`, a forged cursor). */
export function needsResync(error: unknown): boolean {
  return isPulseError(error) && ERROR_CODES[error.code].action === ClientAction.resync
}

/** True when sending the same request again later may succeed. */
export function isRetryable(error: unknown): boolean {
  if (isNetworkError(error)) return true
  if (!isPulseError(error)) return false
  const action = ERROR_CODES[error.code].action
  return action === ClientAction.retry || action === ClientAction.reauthenticate
}

/** The code and message of any error, as status and outbox entries keep them. */
export function errorInfo(error: unknown): SyncErrorInfo {
  if (isPulseError(error) || isNetworkError(error) || isProtocolError(error)) return { code: error.code, message: error.message }
  if (error instanceof Error) return { code: 'client_error', message: error.message }
  return { code: 'client_error', message: String(error) }
}
