/**
 * The SQL texts of SQLite's hot paths, made once per model: one row per statement, run from
 * the statement cache (better-sqlite3 calls are synchronous and cheap, so a cached statement
 * per row inside the transaction beats building multi-row statements). Lists of values travel
 * as one JSON array parameter (`json_each`), so one text serves any number of values.
 */
import type { ModelDefinition } from '@pulse/core'
import { CONFLICT_COLUMNS } from '../conflict-rows.ts'
import { quoteIdent, recordColumns, PULSE_TABLES as T } from '../naming.ts'
import { recordSizeSql } from '../record-size.ts'
import type { ChangeFilter } from '../storage.ts'

/** Statements on one model's table. */
export interface ModelStatements {
  readonly selectById: string
  /** Takes the ids as one JSON array parameter. */
  readonly selectByIds: string
  /** `id` and `size` (estimated wire bytes) of the rows named, like `selectByIds`. */
  readonly selectSizesByIds: string
  readonly insert: string
  /** Parameters: every column but id, in table order, then the id. */
  readonly update: string
}

const cache = new WeakMap<ModelDefinition, ModelStatements>()

/** The statements of a model's table. */
export function modelStatements(model: ModelDefinition): ModelStatements {
  let s = cache.get(model)
  if (s) return s
  const table = quoteIdent(model.name)
  const columns = recordColumns(model).map(quoteIdent)
  const select = `SELECT ${columns.join(', ')} FROM ${table}`
  s = {
    selectById: `${select} WHERE "id" = ?`,
    selectByIds: `${select} WHERE "id" IN (SELECT value FROM json_each(?))`,
    selectSizesByIds: `SELECT "id", ${recordSizeSql('sqlite', model)} AS "size" FROM ${table} WHERE "id" IN (SELECT value FROM json_each(?))`,
    insert: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    update: `UPDATE ${table} SET ${columns
      .slice(1)
      .map((c) => `${c} = ?`)
      .join(', ')} WHERE "id" = ?`,
  }
  cache.set(model, s)
  return s
}

const HISTORY_COLUMNS = `"model", "record_id", "version", "op", "changes", "user_id", "device_id", "request_id", "at"`
const CHANGE_COLUMNS = `"seq", "model", "record_id", "version", "owner_id", "org_id", "deleted", "removed"`
const conflictColumns = CONFLICT_COLUMNS.map(quoteIdent).join(', ')

/** Statements on Pulse's own tables. */
export const SQL = {
  insertHistory: `INSERT INTO "${T.history}" (${HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectHistory: `SELECT ${HISTORY_COLUMNS} FROM "${T.history}" WHERE "model" = ? AND "record_id" = ? AND "version" > ? ORDER BY "version", "id"`,
  /**
   * REPLACE deletes the record's earlier entry (unique on model, record_id) and inserts the new
   * one with the next AUTOINCREMENT position: one statement where DELETE + INSERT took two.
   */
  replaceChange: `INSERT OR REPLACE INTO "${T.changes}" ("model", "record_id", "version", "owner_id", "org_id", "deleted", "removed") VALUES (?, ?, ?, ?, ?, ?, ?)`,
  claimClient: `INSERT INTO "${T.clients}" ("client_id", "last_mid", "owner", "updated_at") VALUES (?, 0, ?, ?) ON CONFLICT ("client_id") DO UPDATE SET "owner" = COALESCE("${T.clients}"."owner", excluded."owner") RETURNING "last_mid", "owner"`,
  setClientMid: `INSERT INTO "${T.clients}" ("client_id", "last_mid", "updated_at") VALUES (?, ?, ?) ON CONFLICT ("client_id") DO UPDATE SET "last_mid" = excluded."last_mid", "updated_at" = excluded."updated_at"`,
  setMeta: `INSERT INTO "${T.meta}" ("key", "value", "updated_at") VALUES (?, ?, ?) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at"`,
  getMeta: `SELECT "value" FROM "${T.meta}" WHERE "key" = ?`,
  headPosition: `SELECT COALESCE(MAX("seq"), 0) AS "head" FROM "${T.changes}"`,
  insertConflict: `INSERT INTO "${T.conflicts}" (${conflictColumns}) VALUES (${CONFLICT_COLUMNS.map(() => '?').join(', ')})`,
  selectConflict: `SELECT ${conflictColumns} FROM "${T.conflicts}" WHERE "id" = ?`,
  updateConflict: `UPDATE "${T.conflicts}" SET ${CONFLICT_COLUMNS.slice(1)
    .map((c) => `${quoteIdent(c)} = ?`)
    .join(', ')} WHERE "id" = ?`,
} as const

const IN_LIST = '(SELECT value FROM json_each(?))'

/** The statement and parameters reading the change order after `after` through `filter` (§8). */
export function readChangesQuery(after: number, limit: number, filter: ChangeFilter | undefined): { sql: string; params: unknown[] } {
  let sql = `SELECT ${CHANGE_COLUMNS} FROM "${T.changes}" WHERE "seq" > ?`
  const params: unknown[] = [after]
  if (filter?.models) {
    sql += ` AND "model" IN ${IN_LIST}`
    params.push(JSON.stringify(filter.models))
  }
  if (filter?.scope) {
    const { globalModels, userId, orgIds } = filter.scope
    sql += ` AND ("model" IN ${IN_LIST} OR "owner_id" = ? OR "org_id" IN ${IN_LIST})`
    params.push(JSON.stringify(globalModels), userId, JSON.stringify(orgIds))
  }
  params.push(limit)
  return { sql: `${sql} ORDER BY "seq" LIMIT ?`, params }
}
