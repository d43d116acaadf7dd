/**
 * SQLite's write path (benchmarked by bench/write.ts, bench/sync.ts and
 * `insert-throughput.bench.ts` beside this file): one cached statement per row inside the
 * transaction. better-sqlite3 calls are synchronous and cheap, so this beats building
 * multi-row statements; the texts are made once per model.
 */
import type { ModelDefinition } from '@pulse/core'
import type { HotStatements } from '../dialect.ts'
import { HISTORY_COLUMNS } from '../log-rows.ts'
import { quoteIdent, recordColumns } from '../naming.ts'
import { bindable, type SqliteConnection } from './sqlite-connection.ts'

const cache = new WeakMap<ModelDefinition, { insert: string; update: string }>()

/** The insert (every column, in table order) and update (every column but id, then the id) of a model's table. */
function modelStatements(model: ModelDefinition): { insert: string; update: string } {
  let s = cache.get(model)
  if (s) return s
  const table = quoteIdent(model.name)
  const columns = recordColumns(model).map(quoteIdent)
  s = {
    insert: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    update: `UPDATE ${table} SET ${columns
      .slice(1)
      .map((c) => `${c} = ?`)
      .join(', ')} WHERE "id" = ?`,
  }
  cache.set(model, s)
  return s
}

const INSERT_HISTORY = `INSERT INTO "pulse_history" (${HISTORY_COLUMNS.map(quoteIdent).join(', ')}) VALUES (${HISTORY_COLUMNS.map(() => '?').join(', ')})`
/**
 * REPLACE deletes the record's earlier entry (unique on model, record_id, removed) and inserts
 * the new one with the next AUTOINCREMENT position: one statement where DELETE + INSERT took two.
 */
const REPLACE_CHANGE = `INSERT OR REPLACE INTO "pulse_changes" ("model", "record_id", "version", "owner_id", "org_id", "deleted", "removed") VALUES (?, ?, ?, ?, ?, ?, ?)`

/** The hot statements on the writer connection (inside its transaction). */
export function sqliteStatements(conn: SqliteConnection): HotStatements {
  return {
    async insertRecords(model, rows) {
      const stmt = conn.statement(modelStatements(model).insert)
      for (const row of rows) stmt.run(bindable(row))
    },

    async updateRecords(model, rows) {
      const stmt = conn.statement(modelStatements(model).update)
      let matched = 0
      for (const row of rows) matched += stmt.run(bindable([...row.slice(1), row[0]])).changes
      return matched
    },

    async appendHistory(rows) {
      const stmt = conn.statement(INSERT_HISTORY)
      for (const row of rows) stmt.run(row)
    },

    async appendChanges(entries) {
      // Transactions are serialised on the one writer, so positions commit in allocation order.
      const stmt = conn.statement(REPLACE_CHANGE)
      return entries.map((e) =>
        Number(stmt.run(e.model, e.recordId, e.version, e.ownerId, e.orgId, e.deleted ? 1 : 0, e.removed ? 1 : 0).lastInsertRowid),
      )
    },

    // One writer: positions commit in the order they are allocated, the largest is the head.
    watermark: async () => undefined,

    async setColumn(table, column, _columnType, rows) {
      const stmt = conn.statement(`UPDATE ${quoteIdent(table)} SET ${quoteIdent(column)} = ? WHERE "id" = ?`)
      for (const [id, value] of rows) stmt.run(bindable([value, id]))
    },
  }
}
