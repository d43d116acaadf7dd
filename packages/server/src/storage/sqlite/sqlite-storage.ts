/**
 * Storage on SQLite (better-sqlite3). One writer connection behind an async mutex: a
 * transaction holds it from BEGIN IMMEDIATE to COMMIT, so transactions never interleave. Reads
 * outside transactions use a second, read-only connection, which in WAL mode sees the last
 * committed state without waiting for the writer. An in-memory database has one connection
 * only, so its reads wait for the writer too (they would otherwise see uncommitted rows).
 */
import { toStorageError } from '../connection-errors.ts'
import { createSession, type SqlDriver, type SqlSession } from '../dialect.ts'
import { createMutex } from '../mutex.ts'
import { createSqlStorage } from '../sql-storage.ts'
import type { SqlStorage } from '../storage.ts'
import { kyselyConnection, openReader, openWriter, type SqliteConnection } from './sqlite-connection.ts'
import { sqliteDialect } from './sqlite-dialect.ts'
import { sqliteStatements } from './sqlite-statements.ts'

/** Options of `createSqliteStorage`. */
export interface SqliteStorageOptions {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  filename: string
  signal?: AbortSignal
  /** How long a write waits for another process's lock before failing (default 5000). */
  busyTimeoutMs?: number
}

const sessionOn = (conn: SqliteConnection): SqlSession => createSession(sqliteDialect, kyselyConnection(conn), sqliteStatements(conn))

/** Opens (creating if needed) a SQLite database as a Storage. Call `migrate` before use. */
export async function createSqliteStorage(options: SqliteStorageOptions): Promise<SqlStorage> {
  options.signal?.throwIfAborted()
  const { filename } = options
  const what = `the SQLite database ${filename}`
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const memory = filename === ':memory:' || filename === ''
  let writer: SqliteConnection | undefined
  let reader: SqliteConnection
  try {
    writer = openWriter(filename, busyTimeoutMs)
    reader = memory ? writer : openReader(filename, busyTimeoutMs)
  } catch (err) {
    writer?.close()
    throw toStorageError(err, what)
  }
  const w: SqliteConnection = writer
  const r: SqliteConnection = reader
  const writing = sessionOn(w)
  const reading = memory ? writing : sessionOn(r)
  const mutex = createMutex()
  // Reads run one at a time too (better-sqlite3 is synchronous: nothing is lost), so a snapshot
  // read's BEGIN … COMMIT never wraps another read, which would then miss the latest commits.
  // In memory there is one connection: reads wait for the writer.
  const readLock = memory ? mutex : createMutex()

  const driver: SqlDriver = {
    dialect: sqliteDialect,
    describe: what,

    write: (fn, { signal, commit = true } = {}) =>
      mutex.run(async () => {
        w.db.exec('BEGIN IMMEDIATE')
        try {
          const result = await fn(writing)
          w.db.exec(commit ? 'COMMIT' : 'ROLLBACK')
          return result
        } catch (err) {
          if (w.db.inTransaction) w.db.exec('ROLLBACK')
          throw err
        }
      }, signal),

    read: (fn, { signal, snapshot = false } = {}) =>
      readLock.run(async () => {
        if (!snapshot) return fn(reading)
        r.db.exec('BEGIN')
        try {
          return await fn(reading)
        } finally {
          r.db.exec('COMMIT')
        }
      }, signal),

    // The migration's BEGIN IMMEDIATE already excludes every other writer.
    prepareMigration: async () => {},

    async close(): Promise<void> {
      const closeAll = (): void => {
        if (r !== w) r.close()
        w.close()
      }
      await mutex.run(() => (readLock === mutex ? closeAll() : readLock.run(closeAll)))
    },
  }
  return createSqlStorage(driver)
}
