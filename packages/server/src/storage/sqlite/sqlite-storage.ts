/**
 * Storage on SQLite (better-sqlite3). One writer connection behind an async mutex: a
 * transaction holds it from BEGIN IMMEDIATE to COMMIT, so transactions never interleave. Reads
 * outside transactions use a second, read-only connection, which in WAL mode sees the last
 * committed state without waiting for the writer. An in-memory database has one connection
 * only, so its reads wait for the writer too (they would otherwise see uncommitted rows).
 */
import type { Conflict, ModelDefinition, Schema } from '@pulse/core'
import { PulseError } from '@pulse/core'
import { buildConflictQuery, decodeConflict } from '../conflict-rows.ts'
import { toStorageError } from '../connection-errors.ts'
import { buildListQuery } from '../list-query.ts'
import { decodeChange, decodeHistory } from '../log-rows.ts'
import { runMigration } from '../migrator.ts'
import { createMutex } from '../mutex.ts'
import { PURGED_POSITION_KEY, purgeTombstones } from '../purge.ts'
import { decodeRecord } from '../record-row.ts'
import { cutListPage, recordPage, type SizeRow, sizesById } from '../record-size.ts'
import type { SqlContext } from '../sql-executor.ts'
import type {
  ChangeFilter,
  ChangeRow,
  ConflictQuery,
  HistoryEntry,
  ListQuery,
  MigrationPlan,
  RecordPage,
  Storage,
  StorageTx,
  StoredRecord,
} from '../storage.ts'
import { openReader, openWriter, type SqliteConnection } from './sqlite-connection.ts'
import { sqliteDialect } from './sqlite-dialect.ts'
import { createSqliteExecutor } from './sqlite-executor.ts'
import { modelStatements, readChangesQuery, SQL } from './sqlite-statements.ts'
import { createSqliteTx, readRecords } from './sqlite-tx.ts'

/** Options of `createSqliteStorage`. */
export interface SqliteStorageOptions {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  filename: string
  signal?: AbortSignal
  /** How long a write waits for another process's lock before failing (default 5000). */
  busyTimeoutMs?: number
}

const MAX_ATTEMPTS = 4
const codec = sqliteDialect.codec

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
}

function checkPosition(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new PulseError('bad_request', `${name} must be an integer ≥ ${min}`)
}

/** Opens (creating if needed) a SQLite database as a Storage. Call `migrate` before use. */
export async function createSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
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
  const mutex = createMutex()
  let closed = false

  async function guard<T>(fn: () => Promise<T> | T): Promise<T> {
    if (closed) throw new PulseError('database_unavailable', `cannot use ${what} (the storage is closed)`)
    try {
      return await fn()
    } catch (err) {
      throw toStorageError(err, what)
    }
  }

  function read<T>(fn: (conn: SqliteConnection) => T, signal?: AbortSignal): Promise<T> {
    return guard(() => {
      if (memory) return mutex.run(() => fn(reader), signal)
      signal?.throwIfAborted()
      return fn(reader)
    })
  }

  /** Runs `fn` between BEGIN IMMEDIATE and COMMIT (or ROLLBACK when it throws or `commit` is false). */
  function write<T>(fn: (conn: SqliteConnection) => Promise<T>, signal: AbortSignal | undefined, commit = true): Promise<T> {
    return guard(() =>
      mutex.run(async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            w.db.exec('BEGIN IMMEDIATE')
            const result = await fn(w)
            w.db.exec(commit ? 'COMMIT' : 'ROLLBACK')
            return result
          } catch (err) {
            if (w.db.inTransaction) w.db.exec('ROLLBACK')
            // Another process held the database past the busy timeout: start again.
            if (!isBusy(err) || attempt >= MAX_ATTEMPTS) throw err
          }
        }
      }, signal),
    )
  }

  function migration(schema: Schema, apply: boolean, allowDataLoss: boolean, signal?: AbortSignal): Promise<MigrationPlan> {
    return write(
      (conn) => runMigration({ dialect: sqliteDialect, exec: createSqliteExecutor(conn) }, { schema, apply, allowDataLoss }),
      signal,
      apply,
    )
  }

  return {
    kind: 'sqlite',

    planMigration: (schema, signal) => migration(schema, false, false, signal),

    migrate: (schema, opts) => migration(schema, true, opts?.allowDataLoss === true, opts?.signal),

    transaction<T>(fn: (tx: StorageTx) => Promise<T>, signal?: AbortSignal): Promise<T> {
      return write(async (conn) => {
        let open = true
        try {
          return await fn(createSqliteTx(conn, () => open))
        } finally {
          open = false
        }
      }, signal)
    },

    getRecord: (model: ModelDefinition, id: string, signal?: AbortSignal): Promise<StoredRecord | undefined> =>
      read((conn) => {
        const row = conn.statement(modelStatements(model).selectById).get(id) as Record<string, unknown> | undefined
        return row ? decodeRecord(codec, model, row) : undefined
      }, signal),

    listRecords: (model: ModelDefinition, query: ListQuery, signal?: AbortSignal): Promise<StoredRecord[]> =>
      read((conn) => {
        const compiled = buildListQuery(sqliteDialect, model, query)
        const rows = conn.statement(compiled.sql).all([...compiled.parameters]) as Record<string, unknown>[]
        return rows.map((row) => decodeRecord(codec, model, row))
      }, signal),

    getRecords: (model: ModelDefinition, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, StoredRecord>> =>
      read((conn) => readRecords(conn, model, ids), signal),

    recordSizes: (model: ModelDefinition, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, number>> =>
      read((conn) => {
        if (ids.length === 0) return new Map()
        return sizesById(conn.statement(modelStatements(model).selectSizesByIds).all(JSON.stringify(ids)) as SizeRow[])
      }, signal),

    listPage: (model: ModelDefinition, query: ListQuery, maxBytes: number, signal?: AbortSignal): Promise<RecordPage> =>
      read((conn) => {
        const sizes = buildListQuery(sqliteDialect, model, { ...query, limit: query.limit + 1 }, 'sizes')
        // One read transaction: the records loaded are the ones the sizes were read from.
        const own = !conn.db.inTransaction
        if (own) conn.db.exec('BEGIN')
        try {
          const { ids, more } = cutListPage(conn.statement(sizes.sql).all([...sizes.parameters]) as SizeRow[], query.limit, maxBytes)
          return recordPage(ids, readRecords(conn, model, ids), more)
        } finally {
          if (own) conn.db.exec('COMMIT')
        }
      }, signal),

    listHistory: (model: ModelDefinition, recordId: string, signal?: AbortSignal): Promise<HistoryEntry[]> =>
      read((conn) => {
        const rows = conn.statement(SQL.selectHistory).all(model.name, recordId, 0) as Record<string, unknown>[]
        return rows.map((row) => decodeHistory(codec, row))
      }, signal),

    readChanges: (after: number, limit: number, filter?: ChangeFilter, signal?: AbortSignal): Promise<ChangeRow[]> =>
      read((conn) => {
        checkPosition('after', after, 0)
        checkPosition('limit', limit, 1)
        const q = readChangesQuery(after, limit, filter)
        const rows = conn.statement(q.sql).all(q.params) as Record<string, unknown>[]
        return rows.map(decodeChange)
      }, signal),

    purgeTombstones: (before: string, signal?: AbortSignal): Promise<number> =>
      write((conn) => purgeTombstones({ dialect: sqliteDialect, exec: createSqliteExecutor(conn) }, before), signal),

    sqlRead: <T>(fn: (ctx: SqlContext) => Promise<T>, signal?: AbortSignal): Promise<T> =>
      guard(() => {
        signal?.throwIfAborted()
        const ctx = { dialect: sqliteDialect, exec: createSqliteExecutor(reader) }
        // In memory there is one connection: wait for the writer, as every read there does.
        return memory ? mutex.run(() => fn(ctx), signal) : fn(ctx)
      }),

    sqlTransaction: <T>(fn: (ctx: SqlContext) => Promise<T>, signal?: AbortSignal): Promise<T> =>
      write((conn) => fn({ dialect: sqliteDialect, exec: createSqliteExecutor(conn) }), signal),

    headPosition: (signal?: AbortSignal): Promise<number> =>
      read((conn) => Number((conn.statement(SQL.headPosition).get() as { head: unknown } | undefined)?.head ?? 0) || 0, signal),

    purgedPosition: (signal?: AbortSignal): Promise<number> =>
      read(
        (conn) => Number((conn.statement(SQL.getMeta).get(PURGED_POSITION_KEY) as { value: unknown } | undefined)?.value ?? 0) || 0,
        signal,
      ),

    listConflicts: (query: ConflictQuery, signal?: AbortSignal): Promise<Conflict[]> =>
      read((conn) => {
        const q = buildConflictQuery(sqliteDialect, query)
        const rows = conn.statement(q.sql).all([...q.parameters]) as Record<string, unknown>[]
        return rows.map((row) => decodeConflict(codec, row))
      }, signal),

    probe: (signal?: AbortSignal): Promise<void> =>
      write(async (conn) => {
        const token = crypto.randomUUID()
        conn.statement(SQL.setMeta).run('probe', token, new Date().toISOString())
        const row = conn.statement(SQL.getMeta).get('probe') as { value: unknown } | undefined
        if (row?.value !== token) throw new Error('probe: the value read back differs from the one written')
      }, signal),

    async close(): Promise<void> {
      if (closed) return
      await mutex.run(() => {
        closed = true
        if (reader !== w) reader.close()
        w.close()
      })
    },
  }
}
