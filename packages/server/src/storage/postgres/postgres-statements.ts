/**
 * PostgreSQL's write path (benchmarked by bench/write.ts and bench/sync.ts): a batch travels as
 * one array parameter per column and `unnest` turns them into rows, so a batch of any size is
 * one statement with a fixed text (and a fixed, small number of parameters).
 */
import type { ModelDefinition } from '@pulse/core'
import type { HotStatements } from '../dialect.ts'
import { HISTORY_COLUMNS } from '../log-rows.ts'
import { quoteIdent, recordColumns } from '../naming.ts'
import { CHANGES_SEQUENCE, postgresDialect } from './postgres-dialect.ts'
import type { PgResult } from './postgres-pool.ts'

/** Runs one statement on the session's connection. */
export type PgQuery = (text: string, values?: readonly unknown[]) => Promise<PgResult>

/** `unnest($1::t1[], $2::t2[], …)` for these element types. */
function unnest(types: readonly string[]): string {
  return `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`
}

/** Rows (arrays of parameters) as one array per column, for `unnest`. */
function toColumns(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => new Array<unknown>(rows.length))
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) (columns[c] as unknown[])[r] = row[c]
  })
  return columns
}

const SYSTEM_TYPES = ['text', 'bigint', 'jsonb', 'timestamptz', 'timestamptz', 'timestamptz', 'jsonb']
const cache = new WeakMap<ModelDefinition, { insert: string; update: string; width: number }>()

/** The insert and update of a model's table: one array parameter per column, in table order. */
function modelStatements(model: ModelDefinition): { insert: string; update: string; width: number } {
  let s = cache.get(model)
  if (s) return s
  const table = quoteIdent(model.name)
  const columns = recordColumns(model).map(quoteIdent)
  const rows = unnest([...SYSTEM_TYPES, ...[...model.specs.values()].map((spec) => postgresDialect.columnType(spec))])
  // Model names never start with "pulse_", so these aliases cannot shadow a model's table.
  s = {
    insert: `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM ${rows}`,
    update: `UPDATE ${table} AS "pulse_old" SET ${columns
      .slice(1)
      .map((c) => `${c} = "pulse_new".${c}`)
      .join(', ')} FROM ${rows} AS "pulse_new"(${columns.join(', ')}) WHERE "pulse_old"."id" = "pulse_new"."id"`,
    width: columns.length,
  }
  cache.set(model, s)
  return s
}

const CHANGE_COLUMNS = `"seq", "model", "record_id", "version", "owner_id", "org_id", "deleted", "removed"`
const SQL = {
  insertHistory: `INSERT INTO "pulse_history" (${HISTORY_COLUMNS.map(quoteIdent).join(', ')}) SELECT * FROM ${unnest(['text', 'text', 'bigint', 'text', 'jsonb', 'text', 'text', 'text', 'timestamptz'])}`,
  advisoryLock: 'SELECT pg_advisory_xact_lock($1, $2)',
  allocateSeqs: `SELECT nextval('${CHANGES_SEQUENCE}') AS "seq" FROM generate_series(1, $1)`,
  /** Replaces each record's entry: one row per record (the batch holds each record once). */
  upsertChanges: `INSERT INTO "pulse_changes" (${CHANGE_COLUMNS}) SELECT * FROM ${unnest(['bigint', 'text', 'text', 'bigint', 'text', 'text', 'boolean', 'boolean'])} ON CONFLICT ("model", "record_id", "removed") DO UPDATE SET "seq" = excluded."seq", "version" = excluded."version", "owner_id" = excluded."owner_id", "org_id" = excluded."org_id", "deleted" = excluded."deleted"`,
} as const

/** The hot statements on one transaction's client; `changesLockKey` serialises change positions. */
export function postgresStatements(query: PgQuery, changesLockKey: readonly [number, number]): HotStatements {
  return {
    async insertRecords(model, rows) {
      const s = modelStatements(model)
      await query(s.insert, toColumns(rows, s.width))
    },

    async updateRecords(model, rows) {
      const s = modelStatements(model)
      return (await query(s.update, toColumns(rows, s.width))).rowCount ?? 0
    },

    async appendHistory(rows) {
      await query(SQL.insertHistory, toColumns(rows, HISTORY_COLUMNS.length))
    },

    async appendChanges(entries) {
      // §2, no gaps: PostgreSQL transactions commit in any order, so a sequence alone would let
      // a reader see position 8 committed while 7 is still in flight, move its cursor past 7
      // and never see it. Instead positions are allocated under a transaction-level advisory
      // lock, held until COMMIT or ROLLBACK. A transaction gets its positions only after the
      // previous holder has committed (and become visible) or rolled back, so every
      // position is visible before any larger one; rolled-back positions are merely unused.
      // appendChanges is the last write of a transaction, so the lock is held only briefly.
      await query(SQL.advisoryLock, changesLockKey)
      const allocated = (await query(SQL.allocateSeqs, [entries.length])).rows.map((r) => Number(r.seq)).sort((a, b) => a - b)
      // A record named twice keeps its last entry; the earlier position stays unused.
      const rows = new Map<string, unknown[]>()
      entries.forEach((e, i) => {
        const key = `${e.model}\u0000${e.recordId}\u0000${e.removed === true}`
        rows.delete(key)
        rows.set(key, [allocated[i], e.model, e.recordId, e.version, e.ownerId, e.orgId, e.deleted, e.removed === true])
      })
      await query(SQL.upsertChanges, toColumns([...rows.values()], 8))
      return entries.map((_, i) => allocated[i] as number)
    },

    async setColumn(table, column, columnType, rows) {
      // Column types come from the dialect (`numeric(10,2)`, `jsonb`), never from a caller.
      const sql = `UPDATE ${quoteIdent(table)} AS "pulse_old" SET ${quoteIdent(column)} = "pulse_new"."v" FROM unnest($1::text[], $2::${columnType}[]) AS "pulse_new"("id", "v") WHERE "pulse_old"."id" = "pulse_new"."id"`
      await query(sql, [rows.map((r) => r[0]), rows.map((r) => r[1])])
    },
  }
}
