/**
 * One better-sqlite3 connection with its prepared statements cached by SQL text, and the same
 * connection as Kysely runs queries on it. The driver is typed structurally: only the methods
 * Pulse calls.
 */
import { closeSync, openSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'

/** The parts of a better-sqlite3 statement Pulse calls. */
export interface SqliteStatement {
  /** True when the statement returns rows (a SELECT, or RETURNING). */
  readonly reader: boolean
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint }
  all(...params: unknown[]): unknown[]
}

/** The parts of a better-sqlite3 database Pulse calls. */
export interface SqliteDatabase {
  readonly open: boolean
  readonly inTransaction: boolean
  prepare(sql: string): SqliteStatement
  exec(sql: string): unknown
  pragma(sql: string, options?: { simple?: boolean }): unknown
  close(): unknown
}

/** A connection and its statement cache. */
export interface SqliteConnection {
  readonly db: SqliteDatabase
  /** The prepared statement for `sql`, prepared once and reused. */
  statement(sql: string): SqliteStatement
  close(): void
}

// Statement texts are made per model and query shape, so the set is small; the bound only
// guards against a caller that builds many distinct list queries.
const MAX_CACHED_STATEMENTS = 1000

/**
 * Parameters as SQLite binds them, changed in place: booleans as 0/1 (it has no boolean type),
 * arrays as JSON text (lists are read with `json_each`, see `inList`).
 */
export function bindable(params: unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) {
    const p = params[i]
    if (typeof p === 'boolean') params[i] = p ? 1 : 0
    else if (Array.isArray(p)) params[i] = JSON.stringify(p)
  }
  return params
}

/** `conn` as Kysely's connection: each compiled query runs from the statement cache. */
export function kyselyConnection(conn: SqliteConnection): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const stmt = conn.statement(query.sql)
      const params = bindable([...query.parameters])
      if (stmt.reader) return { rows: stmt.all(params) as R[] }
      const { changes } = stmt.run(params)
      return { rows: [], numAffectedRows: BigInt(changes) }
    },
    streamQuery(): AsyncIterableIterator<QueryResult<never>> {
      throw new Error('Pulse does not stream queries')
    },
  }
}

/** Wraps an open database with a statement cache. */
export function wrapConnection(db: SqliteDatabase): SqliteConnection {
  const cache = new Map<string, SqliteStatement>()
  return {
    db,
    statement(sql: string): SqliteStatement {
      let stmt = cache.get(sql)
      if (stmt) return stmt
      stmt = db.prepare(sql)
      if (cache.size >= MAX_CACHED_STATEMENTS) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
      cache.set(sql, stmt)
      return stmt
    },
    close(): void {
      cache.clear()
      if (db.open) db.close()
    },
  }
}

/**
 * Opens the writer: WAL journal, NORMAL sync (durable at checkpoints, safe with WAL). A new
 * database file is created readable by its owner only (0600: it holds password hashes); SQLite
 * gives its -wal and -shm files the same mode. An existing file keeps its mode.
 */
export function openWriter(filename: string, busyTimeoutMs: number): SqliteConnection {
  if (filename !== '' && filename !== ':memory:' && !filename.startsWith('file:')) {
    try {
      closeSync(openSync(filename, 'a', 0o600))
    } catch {
      // The driver's own open reports what is wrong (a missing directory, no permission).
    }
  }
  const db = new Database(filename, { timeout: busyTimeoutMs })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    // Checkpoint (and fsync the database file) every ~40 MB of WAL rather than every 4 MB:
    // 20 % more pushes per second on small transactions; the WAL is truncated back to 64 MB.
    db.pragma('wal_autocheckpoint = 10000')
    db.pragma('journal_size_limit = 67108864')
  } catch (err) {
    db.close()
    throw err
  }
  return wrapConnection(db)
}

/** Opens a read-only connection to a file the writer has opened. */
export function openReader(filename: string, busyTimeoutMs: number): SqliteConnection {
  return wrapConnection(new Database(filename, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }))
}
