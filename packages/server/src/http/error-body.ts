/**
 * The one place where an error becomes the PROTOCOL.md §7 body. Known errors keep their code
 * and message; anything else is logged and answered as a bare `internal_error`, so no stack
 * trace or SQL text ever reaches a client.
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode, type FieldIssue, isPulseError } from '@pulse/core'

/** The status and body for an error, and whether it is a server fault worth logging loudly. */
export interface ErrorReply {
  status: number
  body: ErrorBody
  serverFault: boolean
}

interface FastifyLikeError {
  code?: unknown
  statusCode?: unknown
  message?: unknown
  validation?: unknown
}

// Fastify's own error codes for bad requests it refuses before any handler runs.
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'the body is over the size limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', message: 'send the body as application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', message: 'the Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_json', message: 'the body is empty; send a JSON object' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: 'the body is not well-formed JSON' },
  FST_ERR_BAD_URL: { code: 'bad_request', message: 'the URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'bad_request', message: 'a path segment is too long' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'bad_request', message: 'the request is malformed' },
}

function make(code: ErrorCode, message: string, details?: readonly FieldIssue[]): ErrorReply {
  const status = ERROR_CODES[code].status
  return {
    status,
    body: { error: details && details.length > 0 ? { code, message, details } : { code, message } },
    serverFault: status >= 500,
  }
}

/** Turns anything thrown while handling a request into its §7 reply. */
export function toErrorReply(error: unknown): ErrorReply {
  if (isPulseError(error)) {
    // Which database, where, and why it failed is for the log, not for callers.
    if (error.code === 'database_unavailable')
      return make('database_unavailable', 'the database cannot be reached; nothing was applied, retry later')
    return make(error.code, error.message, error.details)
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError
  if (typeof e.code === 'string' && e.code in FASTIFY_CODES) {
    const known = FASTIFY_CODES[e.code] as { code: ErrorCode; message: string }
    return make(known.code, known.message)
  }
  // JSON.parse errors (and secure-json-parse's prototype-poisoning refusal) carry status 400.
  if (
    error instanceof SyntaxError ||
    (e.statusCode === 400 && typeof e.message === 'string' && /JSON|prototype|constructor/i.test(e.message))
  ) {
    const poisoned = typeof e.message === 'string' && /prototype|constructor/i.test(e.message)
    return make(
      'invalid_json',
      poisoned ? 'the body uses a forbidden key (__proto__ or constructor.prototype)' : 'the body is not well-formed JSON',
    )
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return make('payload_too_large', 'the request is over the size limit')
    if (e.statusCode === 415) return make('unsupported_media_type', 'send the body as application/json')
    if (e.statusCode === 404) return make('not_found', 'not found')
    if (e.statusCode === 429) return make('rate_limited', 'too many requests')
    return make('bad_request', 'the request is malformed')
  }
  return make('internal_error', 'the server failed; nothing was applied')
}
