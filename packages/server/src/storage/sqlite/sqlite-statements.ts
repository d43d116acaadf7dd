/**
 * SQLite's write path (benchmarked by bench/write.ts, bench/sync.ts, bench/write-cpu.ts and
 * `insert-throughput.bench.ts` beside this file): batches as multi-row statements, each row
 * bound once from the caller's arrays. A batch of n rows runs as a few statements of a
 * power-of-two number of rows (64 + 32 + 4 for 100), so each table has at most seven texts,
 * made once and prepared once (the connection's cache).
 */
import type { ModelDefinition } from '@pulse/core'
import type { HotStatements } from '../dialect.ts'
import { HISTORY_COLUMNS, scopeLeftKey } from '../log-rows.ts'
import { quoteIdent, recordColumns } from '../naming.ts'
import { bindable, type SqliteConnection } from './sqlite-connection.ts'

/** Most rows in one statement. */
const MAX_ROWS = 64
/** SQLite's default limit on parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER). */
const MAX_PARAMS = 32_766

/** A multi-row statement's texts by row count (powers of two), made on first use. */
interface Chunked {
  readonly width: number
  /** The largest power of two of rows whose parameters fit in one statement. */
  readonly maxRows: number
  readonly text: (rows: number) => string
}

function chunked(width: number, make: (rows: number) => string): Chunked {
  let maxRows = 1
  while (maxRows * 2 <= MAX_ROWS && maxRows * 2 * width <= MAX_PARAMS) maxRows *= 2
  const texts = new Map<number, string>()
  return {
    width,
    maxRows,
    text(rows) {
      let t = texts.get(rows)
      if (t === undefined) {
        t = make(rows)
        texts.set(rows, t)
      }
      return t
    },
  }
}

/** `(?, ?, …), (?, ?, …)`: `rows` tuples of `width` parameters. */
const tuples = (rows: number, width: number): string => {
  const one = `(${Array.from({ length: width }, () => '?').join(', ')})`
  return Array.from({ length: rows }, () => one).join(', ')
}

/**
 * Runs `c` over `rows` in chunks (the largest power of two of rows that fits, then smaller
 * ones), each row's values copied once into the chunk's parameters (booleans as 0/1); calls
 * `done` with each chunk's result and its rows' range.
 */
function runChunks(
  conn: SqliteConnection,
  c: Chunked,
  rows: readonly (readonly unknown[])[],
  done?: (result: { changes: number; lastInsertRowid: number | bigint }, from: number, count: number) => void,
): void {
  const { width } = c
  let from = 0
  while (from < rows.length) {
    let count = c.maxRows
    while (count > rows.length - from) count >>= 1
    const params = new Array<unknown>(count * width)
    let p = 0
    for (let r = from; r < from + count; r++) {
      const row = rows[r] as readonly unknown[]
      for (let i = 0; i < width; i++) {
        const v = row[i]
        params[p++] = typeof v === 'boolean' ? (v ? 1 : 0) : v
      }
    }
    const result = conn.statement(c.text(count)).run(params)
    done?.(result, from, count)
    from += count
  }
}

interface ModelStatements {
  readonly insert: Chunked
  readonly update: Chunked
}

const cache = new WeakMap<ModelDefinition, ModelStatements>()

/**
 * The insert (every column, in table order) and the update (matched by id, every other column
 * set from the row) of a model's table, as multi-row statements.
 */
function modelStatements(model: ModelDefinition): ModelStatements {
  let s = cache.get(model)
  if (s) return s
  const table = quoteIdent(model.name)
  const columns = recordColumns(model).map(quoteIdent)
  const width = columns.length
  // UPDATE … FROM (VALUES …): one statement for many rows, each found by its id (the
  // primary key's index); a VALUES row's columns are named column1, column2, ….
  const sets = columns
    .slice(1)
    .map((c, i) => `${c} = "pulse_new"."column${i + 2}"`)
    .join(', ')
  s = {
    insert: chunked(width, (rows) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples(rows, width)}`),
    update: chunked(
      width,
      (rows) =>
        `UPDATE ${table} SET ${sets} FROM (VALUES ${tuples(rows, width)}) AS "pulse_new" WHERE ${table}."id" = "pulse_new"."column1"`,
    ),
  }
  cache.set(model, s)
  return s
}

const HISTORY = chunked(
  HISTORY_COLUMNS.length,
  (rows) => `INSERT INTO "pulse_history" (${HISTORY_COLUMNS.map(quoteIdent).join(', ')}) VALUES ${tuples(rows, HISTORY_COLUMNS.length)}`,
)
/**
 * REPLACE deletes the entry's earlier row (unique on model, record_id, removed, scope_left: a
 * record's live entry, or its removal from one scope) and inserts the new one at the next
 * AUTOINCREMENT position, so the rows of one statement take consecutive positions, in order,
 * ending at its last insert rowid.
 */
const CHANGES = chunked(
  8,
  (rows) =>
    `INSERT OR REPLACE INTO "pulse_changes" ("model", "record_id", "version", "owner_id", "org_id", "deleted", "removed", "scope_left") VALUES ${tuples(rows, 8)}`,
)

/** The hot statements on the writer connection (inside its transaction). */
export function sqliteStatements(conn: SqliteConnection): HotStatements {
  return {
    async insertRecords(model, rows) {
      runChunks(conn, modelStatements(model).insert, rows)
    },

    async updateRecords(model, rows) {
      let matched = 0
      runChunks(conn, modelStatements(model).update, rows, (result) => {
        matched += result.changes
      })
      return matched
    },

    async appendHistory(rows) {
      runChunks(conn, HISTORY, rows)
    },

    async appendChanges(entries) {
      // Transactions are serialised on the one writer, so positions commit in allocation order.
      const positions = new Array<number>(entries.length)
      const rows = entries.map((e) => [e.model, e.recordId, e.version, e.ownerId, e.orgId, e.deleted, e.removed === true, scopeLeftKey(e)])
      runChunks(conn, CHANGES, rows, (result, from, count) => {
        const last = Number(result.lastInsertRowid)
        for (let i = 0; i < count; i++) positions[from + i] = last - count + 1 + i
      })
      return positions
    },

    // One writer: positions commit in the order they are allocated, the largest is the head.
    watermark: async () => undefined,

    async setColumn(table, column, _columnType, rows) {
      const stmt = conn.statement(`UPDATE ${quoteIdent(table)} SET ${quoteIdent(column)} = ? WHERE "id" = ?`)
      for (const [id, value] of rows) stmt.run(bindable([value, id]))
    },
  }
}
