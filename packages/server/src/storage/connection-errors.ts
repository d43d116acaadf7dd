/**
 * Turns "the database cannot be reached" failures of either driver into one PulseError
 * (`database_unavailable`, 503, retry) with a clear message and no SQL text. Every other error
 * propagates unchanged; the HTTP layer answers those with a generic 500.
 */
import { isPulseError, PulseError } from '@pulse/core'

// Network and DNS failures (Node), and PostgreSQL SQLSTATEs meaning "no usable session":
// 08xxx connection exceptions, 28xxx authentication, 3D000 unknown database, 57P0x shutdown,
// 53100 disk full, 25006 read-only transaction (a hot standby).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])
const PG_STATES = /^(08...|28...|3D000|57P01|57P02|57P03|53100|53300|25006)$/
const SQLITE_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_FULL'])
const CLOSED_MESSAGES = [
  /cannot use a pool after calling end/i,
  /connection terminated/i,
  /client has encountered a connection error/i,
  /database connection is not open/i,
  /cannot open database because the directory does not exist/i,
  /timeout exceeded when trying to connect/i,
]

function field(err: unknown, key: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const value = (err as Record<string, unknown>)[key]
  return typeof value === 'string' ? value : undefined
}

/** The reason an error means the database is unreachable, or undefined when it does not. */
export function unavailableReason(err: unknown): string | undefined {
  const code = field(err, 'code')
  if (code !== undefined) {
    if (NETWORK_CODES.has(code)) return code
    if (PG_STATES.test(code)) return `${code}: ${pgReason(code)}`
    for (const sqliteCode of SQLITE_CODES) if (code.startsWith(sqliteCode)) return code
  }
  const message = field(err, 'message') ?? ''
  if (CLOSED_MESSAGES.some((re) => re.test(message))) return message.split('\n')[0]
  // AggregateError (Node tries each address of a host) carries the codes in `errors`.
  const nested = (err as { errors?: unknown })?.errors
  if (Array.isArray(nested)) for (const e of nested) if (unavailableReason(e)) return unavailableReason(e)
  return undefined
}

function pgReason(code: string): string {
  if (code.startsWith('28')) return 'authentication failed'
  if (code === '3D000') return 'the database does not exist'
  if (code === '53300') return 'too many connections'
  if (code === '53100') return 'disk full'
  if (code === '25006') return 'the database is read-only'
  if (code.startsWith('57P')) return 'the server is shutting down or starting up'
  return 'connection failure'
}

/**
 * True when PostgreSQL refused a value because of its characters: a NUL in text (22021), a
 * `\u0000` in jsonb (22P05), a lone surrogate in jsonb (22P02 on json input). Core validation
 * refuses these first on every path (`textProblem`); this keeps a path it missed from a 500.
 */
function isUnstorableText(err: unknown): boolean {
  const code = field(err, 'code')
  return code === '22021' || code === '22P05' || (code === '22P02' && /json/i.test(field(err, 'message') ?? ''))
}

/**
 * True when a transaction failed for a reason a re-run may not meet again: a lock held past the
 * busy timeout (SQLite), a serialization failure, a deadlock, a unique-key race on insert
 * (PostgreSQL, whose concurrent transactions may insert one id at once).
 */
export function isTransient(err: unknown): boolean {
  const code = field(err, 'code') ?? ''
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === '40001' || code === '40P01' || code === '23505'
}

/** True when a unique index refused a row (PostgreSQL 23505, SQLite's UNIQUE constraint). */
export function isUniqueViolation(err: unknown): boolean {
  const code = field(err, 'code')
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/**
 * `err` as the error to throw: a `database_unavailable` PulseError naming `what` (e.g.
 * "PostgreSQL at db:5432") when the database cannot be reached, `validation_failed` for text it
 * cannot store, else `err` itself.
 */
export function toStorageError(err: unknown, what: string): unknown {
  if (isPulseError(err)) return err
  if (isUnstorableText(err)) {
    const error = new PulseError('validation_failed', 'a value holds text the database cannot store (a NUL character or a lone surrogate)')
    return Object.assign(error, { cause: err })
  }
  const reason = unavailableReason(err)
  if (reason === undefined) return err
  const error = new PulseError('database_unavailable', `cannot use ${what} (${reason})`)
  // `reason` says why without saying where: readiness reports it to unauthenticated callers.
  return Object.assign(error, { cause: err, reason })
}
