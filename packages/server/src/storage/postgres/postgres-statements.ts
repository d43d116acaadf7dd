/**
 * PostgreSQL's write path (benchmarked by bench/write.ts and bench/sync.ts): a batch travels as
 * one array parameter per column and `unnest` turns them into rows, so a batch of any size is
 * one statement with a fixed text (and a fixed, small number of parameters).
 */
import type { ModelDefinition } from '@pulse/core'
import type { HotStatements } from '../dialect.ts'
import { HISTORY_COLUMNS, scopeLeftKey } from '../log-rows.ts'
import { quoteIdent, recordColumns } from '../naming.ts'
import type { ChangeEntry } from '../storage.ts'
import { CLAIM_FUNCTION, postgresDialect } from './postgres-dialect.ts'
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

const CHANGE_COLUMNS = `"seq", "model", "record_id", "version", "owner_id", "org_id", "deleted", "removed", "scope_left"`
const SQL = {
  insertHistory: `INSERT INTO "pulse_history" (${HISTORY_COLUMNS.map(quoteIdent).join(', ')}) SELECT * FROM ${unnest(['text', 'text', 'bigint', 'text', 'jsonb', 'text', 'text', 'text', 'timestamptz'])}`,
  /**
   * Claims a block of $1 positions (CLAIM_FUNCTION, called once: a materialised CTE) and
   * replaces each entry (a record's live one, or its removal from one scope) at the block's
   * first position plus the entry's index ($2); returns the positions.
   */
  claimAndUpsert: `WITH "claim" AS MATERIALIZED (SELECT "${CLAIM_FUNCTION}"($1::bigint, $11::integer, $12::integer, $13::integer) AS "first")
INSERT INTO "pulse_changes" (${CHANGE_COLUMNS}) SELECT "claim"."first" + "e"."i", "e"."model", "e"."record_id", "e"."version", "e"."owner_id", "e"."org_id", "e"."deleted", "e"."removed", "e"."scope_left"
FROM "claim", unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::text[]) AS "e"("i", "model", "record_id", "version", "owner_id", "org_id", "deleted", "removed", "scope_left")
ON CONFLICT ("model", "record_id", "removed", "scope_left") DO UPDATE SET "seq" = excluded."seq", "version" = excluded."version", "owner_id" = excluded."owner_id", "org_id" = excluded."org_id", "deleted" = excluded."deleted"
RETURNING "seq"`,
  /**
   * The highest committed position (in this statement's snapshot, taken first) and the first
   * positions of the blocks still pending (their claim locks, read after the snapshot).
   */
  watermark: `SELECT (SELECT max("seq") FROM "pulse_changes") AS "top", (SELECT array_agg("objid"::bigint) FROM pg_locks WHERE "locktype" = 'advisory' AND "database" = (SELECT "oid" FROM pg_database WHERE "datname" = current_database()) AND "classid" = $1::bigint::oid AND "objsubid" = 2) AS "pending"`,
} as const

const TWO_32 = 4294967296

/** The position whose low 32 bits are `low` nearest to `near` (pending blocks are near the top). */
function nearest(low: number, near: number): number {
  let diff = (((low - near) % TWO_32) + TWO_32) % TWO_32
  if (diff >= TWO_32 / 2) diff -= TWO_32
  return near + diff
}

/** Advisory lock keys of one Pulse schema (postgres-storage.ts). */
export interface ChangeLockKeys {
  /** Session-level, held only inside the claiming function: blocks are contiguous. */
  readonly allocate: readonly [number, number]
  /** The class of the pending-block locks; each block's key is its first position's low 32 bits. */
  readonly pendingClass: number
}

/** The hot statements on one session's connection (a transaction's, or any pooled one for reads). */
export function postgresStatements(query: PgQuery, keys: ChangeLockKeys): HotStatements {
  let claimed = false
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
      // §2, no gaps (docs/change-order.md): the block is registered as pending before the
      // sequence moves past it, and stays pending until this transaction ends; readers stop
      // below every pending block. Nothing is held until COMMIT that another writer waits for.
      // One block per transaction, so a commit's positions are contiguous (a bus message
      // covers them all and nothing of anyone else's, bus.ts).
      if (claimed) throw new Error('appendChanges: once per transaction (its positions are one contiguous block)')
      claimed = true
      // An entry named twice keeps its last; the earlier position stays unused.
      const rows = new Map<string, number>()
      const left = entries.map(scopeLeftKey)
      entries.forEach((e, i) => {
        const key = `${e.model}\u0000${e.recordId}\u0000${e.removed === true}\u0000${left[i]}`
        rows.delete(key)
        rows.set(key, i)
      })
      const n = rows.size
      const index = new Array<number>(n)
      const model = new Array<string>(n)
      const recordId = new Array<string>(n)
      const version = new Array<number>(n)
      const owner = new Array<string | null>(n)
      const org = new Array<string | null>(n)
      const deleted = new Array<boolean>(n)
      const removed = new Array<boolean>(n)
      const scopeLeft = new Array<string>(n)
      let r = 0
      for (const i of rows.values()) {
        const e = entries[i] as ChangeEntry
        index[r] = i
        model[r] = e.model
        recordId[r] = e.recordId
        version[r] = e.version
        owner[r] = e.ownerId
        org[r] = e.orgId
        deleted[r] = e.deleted
        removed[r] = e.removed === true
        scopeLeft[r] = left[i] as string
        r++
      }
      const { rows: out } = await query(SQL.claimAndUpsert, [
        entries.length,
        index,
        model,
        recordId,
        version,
        owner,
        org,
        deleted,
        removed,
        scopeLeft,
        keys.allocate[0],
        keys.allocate[1],
        keys.pendingClass,
      ])
      // seq = first + index for every row: the smallest seq belongs to the smallest index.
      let first = Number.POSITIVE_INFINITY
      for (const row of out) first = Math.min(first, Number(row.seq))
      let lowest = Number.POSITIVE_INFINITY
      for (const i of index) lowest = Math.min(lowest, i)
      first -= lowest
      if (!Number.isSafeInteger(first)) throw new Error('appendChanges: the upsert returned no position')
      return entries.map((_, i) => first + i)
    },

    async watermark() {
      const { rows } = await query(SQL.watermark, [keys.pendingClass >>> 0])
      const row = rows[0] ?? {}
      const top = Number(row.top ?? 0)
      let mark = top
      for (const low of (row.pending as unknown[] | null) ?? []) mark = Math.min(mark, nearest(Number(low), top) - 1)
      return Math.max(0, mark)
    },

    async setColumn(table, column, columnType, rows) {
      // Column types come from the dialect (`numeric(10,2)`, `jsonb`), never from a caller.
      const sql = `UPDATE ${quoteIdent(table)} AS "pulse_old" SET ${quoteIdent(column)} = "pulse_new"."v" FROM unnest($1::text[], $2::${columnType}[]) AS "pulse_new"("id", "v") WHERE "pulse_old"."id" = "pulse_new"."id"`
      await query(sql, [rows.map((r) => r[0]), rows.map((r) => r[1])])
    },
  }
}
