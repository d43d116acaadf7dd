/**
 * Every error Pulse reports, in one table (PROTOCOL.md §7). Each code has its HTTP status,
 * its WebSocket close code (when the error ends a connection) and what a client should do.
 */

/** What a client should do when it receives an error. */
export const ClientAction = {
  /** The request can be sent again later, with backoff. */
  retry: 'retry',
  /** The client's local state is out of date: pull from no cursor. */
  resync: 'resync',
  /** The credentials are missing or expired: log in or refresh. */
  reauthenticate: 'reauthenticate',
  /** The request itself is wrong: do not resend it unchanged; show the user. */
  giveUp: 'give_up',
} as const
export type ClientAction = (typeof ClientAction)[keyof typeof ClientAction]

interface ErrorCodeRow {
  readonly status: number
  readonly closeCode?: number
  readonly action: ClientAction
  readonly description: string
}

/** The table of error codes. Adding a code means adding a row here. */
export const ERROR_CODES = {
  invalid_json: { status: 400, action: 'give_up', description: 'The body is not well-formed JSON.' },
  bad_request: { status: 400, action: 'give_up', description: 'The request is malformed (query string, path or headers).' },
  invalid_id: { status: 400, action: 'give_up', description: 'An id is not a valid UUID.' },
  validation_failed: {
    status: 422,
    action: 'give_up',
    description: 'The payload breaks the model definition; `details` lists every problem.',
  },
  org_required: { status: 422, action: 'give_up', description: 'The write needs an organization and none could be chosen.' },
  already_exists: { status: 409, action: 'give_up', description: 'A unique name (such as a username) is already taken.' },
  id_taken: { status: 409, action: 'give_up', description: 'A record with that id exists and the caller may not write it.' },
  clock_ahead: {
    status: 409,
    action: 'resync',
    description: 'A mutation\u2019s vclock counts changes of other writers the server has not seen for that record: pull from no cursor.',
  },
  unauthenticated: { status: 401, closeCode: 4401, action: 'reauthenticate', description: 'Credentials are missing, invalid or expired.' },
  forbidden: { status: 403, closeCode: 4403, action: 'give_up', description: 'The caller may not do this.' },
  not_found: { status: 404, action: 'give_up', description: 'No such record, model or route (or not in the caller\u2019s scope).' },
  method_not_allowed: { status: 405, action: 'give_up', description: 'The route exists but not with this method.' },
  version_conflict: { status: 409, action: 'resync', description: 'If-Match named a version that is no longer current.' },
  cursor_expired: { status: 410, action: 'resync', description: 'Changes past this cursor were purged: pull from no cursor.' },
  scope_changed: { status: 410, action: 'resync', description: 'The caller\u2019s memberships changed: pull from no cursor.' },
  payload_too_large: { status: 413, closeCode: 1009, action: 'give_up', description: 'The body or frame is over the size limit.' },
  unsupported_media_type: { status: 415, action: 'give_up', description: 'The body is not application/json.' },
  schema_unsupported: {
    status: 400,
    closeCode: 4409,
    action: 'give_up',
    description: 'The client\u2019s schema version is not supported.',
  },
  hello_timeout: { status: 408, closeCode: 4408, action: 'retry', description: 'No hello message arrived in time.' },
  request_timeout: { status: 408, action: 'retry', description: 'The request (headers and body) did not arrive in time.' },
  rate_limited: { status: 429, closeCode: 4429, action: 'retry', description: 'Too many requests: back off and retry.' },
  internal_error: { status: 500, action: 'retry', description: 'The server failed; nothing was applied.' },
  database_unavailable: { status: 503, action: 'retry', description: 'The database cannot be reached; nothing was applied.' },
  shutting_down: { status: 503, action: 'retry', description: 'The server is shutting down; nothing was applied: retry.' },
} as const satisfies Record<string, ErrorCodeRow>

export type ErrorCode = keyof typeof ERROR_CODES

/** One problem with one field of a payload, listed in an error's `details`. */
export interface FieldIssue {
  /** The field name (or a dotted path), absent for problems with the whole payload. */
  field?: string
  /** A stable snake_case code, e.g. `too_long`, `unknown_field`, `required`. */
  code: string
  message: string
}

/** The one error type of Pulse. Match it by `name === 'PulseError'` and `code`, not `instanceof`. */
export class PulseError extends Error {
  override readonly name = 'PulseError'
  readonly code: ErrorCode
  readonly details: readonly FieldIssue[] | undefined

  constructor(code: ErrorCode, message: string, details?: readonly FieldIssue[]) {
    super(message)
    this.code = code
    this.details = details
  }

  /** The HTTP status that goes with the code. */
  get status(): number {
    return ERROR_CODES[this.code].status
  }
}

/** True when `value` is a PulseError, even one made by another copy of this package. */
export function isPulseError(value: unknown): value is PulseError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'PulseError' &&
    typeof (value as { code?: unknown }).code === 'string' &&
    (value as { code: string }).code in ERROR_CODES
  )
}

/** The PROTOCOL.md §7 error body (without `requestId`, which the transport adds). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: readonly FieldIssue[] }
}
