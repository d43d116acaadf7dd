/**
 * The SQL texts of PostgreSQL's hot paths, made once per model. Batches travel as one array
 * parameter per column and `unnest` turns them into rows, so a batch of any size is one
 * statement with a fixed text (and a fixed, small number of parameters).
 */
import type { ModelDefinition } from '@pulse/core'
import { CONFLICT_COLUMNS } from '../conflict-rows.ts'
import { quoteIdent, recordColumns, PULSE_TABLES as T } from '../naming.ts'
import { recordSizeSql } from '../record-size.ts'
import type { ChangeFilter } from '../storage.ts'
import { CHANGES_SEQUENCE, postgresDialect } from './postgres-dialect.ts'

/** Statements on one model's table. */
export interface ModelStatements {
  readonly selectById: string
  /** $1: text[] of ids; locks the rows (the transaction's read). */
  readonly selectByIdsForUpdate: string
  /** $1: text[] of ids; no locks. */
  readonly selectByIds: string
  /** `id` and `size` (estimated wire bytes) of the rows named, like `selectByIds`. */
  readonly selectSizesByIds: string
  /** One array parameter per column, in table order. */
  readonly insert: string
  /** One array parameter per column, in table order; matched by id. */
  readonly update: string
}

const SYSTEM_TYPES = ['text', 'bigint', 'jsonb', 'timestamptz', 'timestamptz', 'timestamptz', 'jsonb']
const cache = new WeakMap<ModelDefinition, ModelStatements>()

/** `unnest($1::t1[], $2::t2[], …)` for these element types. */
function unnest(types: readonly string[], firstParam = 1): string {
  return `unnest(${types.map((t, i) => `$${i + firstParam}::${t}[]`).join(', ')})`
}

/** The statements of a model's table. */
export function modelStatements(model: ModelDefinition): ModelStatements {
  let s = cache.get(model)
  if (s) return s
  const table = quoteIdent(model.name)
  const columns = recordColumns(model).map(quoteIdent)
  const types = [...SYSTEM_TYPES, ...[...model.specs.values()].map((spec) => postgresDialect.columnType(spec))]
  const select = `SELECT ${columns.join(', ')} FROM ${table}`
  // Model names never start with "pulse_", so these aliases cannot shadow a model's table.
  s = {
    selectById: `${select} WHERE "id" = $1`,
    selectByIdsForUpdate: `${select} WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`,
    selectByIds: `${select} WHERE "id" = ANY($1::text[])`,
    selectSizesByIds: `SELECT "id", ${recordSizeSql('postgres', model)} AS "size" FROM ${table} WHERE "id" = ANY($1::text[])`,
    insert: `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM ${unnest(types)}`,
    update: `UPDATE ${table} AS "pulse_old" SET ${columns
      .slice(1)
      .map((c) => `${c} = "pulse_new".${c}`)
      .join(', ')} FROM ${unnest(types)} AS "pulse_new"(${columns.join(', ')}) WHERE "pulse_old"."id" = "pulse_new"."id"`,
  }
  cache.set(model, s)
  return s
}

const HISTORY_COLUMNS = `"model", "record_id", "version", "op", "changes", "user_id", "device_id", "request_id", "at"`
const CHANGE_COLUMNS = `"seq", "model", "record_id", "version", "owner_id", "org_id", "deleted", "removed"`
const conflictColumns = CONFLICT_COLUMNS.map(quoteIdent).join(', ')

/** Statements on Pulse's own tables. */
export const SQL = {
  insertHistory: `INSERT INTO "${T.history}" (${HISTORY_COLUMNS}) SELECT * FROM ${unnest(['text', 'text', 'bigint', 'text', 'jsonb', 'text', 'text', 'text', 'timestamptz'])}`,
  selectHistory: `SELECT ${HISTORY_COLUMNS} FROM "${T.history}" WHERE "model" = $1 AND "record_id" = $2 AND "version" > $3 ORDER BY "version", "id"`,
  /** $1, $2: the lock key (two int4). */
  advisoryLock: 'SELECT pg_advisory_xact_lock($1, $2)',
  allocateSeqs: `SELECT nextval('${CHANGES_SEQUENCE}') AS "seq" FROM generate_series(1, $1)`,
  /** Replaces each record's entry: one row per record (the batch holds each record once). */
  upsertChanges: `INSERT INTO "${T.changes}" (${CHANGE_COLUMNS}) SELECT * FROM ${unnest(['bigint', 'text', 'text', 'bigint', 'text', 'text', 'boolean', 'boolean'])} ON CONFLICT ("model", "record_id", "removed") DO UPDATE SET "seq" = excluded."seq", "version" = excluded."version", "owner_id" = excluded."owner_id", "org_id" = excluded."org_id", "deleted" = excluded."deleted"`,
  claimClient: `INSERT INTO "${T.clients}" ("client_id", "last_mid", "owner", "updated_at") VALUES ($1, 0, $2, now()) ON CONFLICT ("client_id") DO UPDATE SET "owner" = COALESCE("${T.clients}"."owner", excluded."owner") RETURNING "last_mid", "owner"`,
  setClientMid: `INSERT INTO "${T.clients}" ("client_id", "last_mid", "updated_at") VALUES ($1, $2, now()) ON CONFLICT ("client_id") DO UPDATE SET "last_mid" = excluded."last_mid", "updated_at" = excluded."updated_at"`,
  setMeta: `INSERT INTO "${T.meta}" ("key", "value", "updated_at") VALUES ($1, $2, now()) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at"`,
  getMeta: `SELECT "value" FROM "${T.meta}" WHERE "key" = $1`,
  insertConflict: `INSERT INTO "${T.conflicts}" (${conflictColumns}) VALUES (${CONFLICT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
  selectConflictForUpdate: `SELECT ${conflictColumns} FROM "${T.conflicts}" WHERE "id" = $1 FOR UPDATE`,
  updateConflict: `UPDATE "${T.conflicts}" SET ${CONFLICT_COLUMNS.slice(1)
    .map((c, i) => `${quoteIdent(c)} = $${i + 2}`)
    .join(', ')} WHERE "id" = $1`,
} as const

/** The statement and parameters reading the change order after `after` through `filter` (§8). */
export function readChangesQuery(after: number, limit: number, filter: ChangeFilter | undefined): { sql: string; params: unknown[] } {
  let sql = `SELECT ${CHANGE_COLUMNS} FROM "${T.changes}" WHERE "seq" > $1`
  const params: unknown[] = [after]
  const param = (value: unknown): string => `$${params.push(value)}`
  if (filter?.models) sql += ` AND "model" = ANY(${param(filter.models)}::text[])`
  if (filter?.scope) {
    const { globalModels, userId, orgIds } = filter.scope
    sql += ` AND ("model" = ANY(${param(globalModels)}::text[]) OR "owner_id" = ${param(userId)} OR "org_id" = ANY(${param(orgIds)}::text[]))`
  }
  return { sql: `${sql} ORDER BY "seq" LIMIT ${param(limit)}`, params }
}
