/**
 * A StoredRecord as one table row and back, and the reads of records by id. Parameters come in
 * `recordColumns` order, so one cached statement per model serves every insert and update.
 */
import type { ModelDefinition } from '@pulse/core'
import { sql } from 'kysely'
import { decodeJson, decodeValue, encodeJson, encodeValue } from './codec.ts'
import type { RecordRow } from './database.ts'
import type { SqlSession } from './dialect.ts'
import { preparedOn } from './prepared.ts'
import { recordSizeSql } from './record-size.ts'
import type { StoredRecord } from './storage.ts'

/** The record's column values in `recordColumns(model)` order. */
export function encodeRecord(model: ModelDefinition, record: StoredRecord): unknown[] {
  const row: unknown[] = [
    record.id,
    record.version,
    encodeJson(record.vclock),
    record.createdAt,
    record.updatedAt,
    record.deletedAt,
    encodeJson(record.fieldVersions),
  ]
  for (const [name, spec] of model.specs) row.push(encodeValue(spec, record.values[name]))
  return row
}

/** A row of a model's table as a StoredRecord. */
export function decodeRecord(model: ModelDefinition, row: RecordRow): StoredRecord {
  const values: Record<string, unknown> = {}
  for (const [name, spec] of model.specs) values[name] = decodeValue(spec, row[name])
  return {
    id: row.id,
    version: row.version,
    vclock: (decodeJson(row.vclock) ?? {}) as Record<string, number>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    deletedAt: row.deletedAt,
    fieldVersions: (decodeJson(row._fv) ?? {}) as Record<string, number>,
    values,
  }
}

const byIds = (s: SqlSession, model: ModelDefinition, ids: readonly string[]) =>
  s.models.selectFrom(model.name).where(s.dialect.inList('id', ids))
const records = preparedOn((s, model, p: { ids: readonly string[] }) => byIds(s, model, p.ids).selectAll())
// In id order, so that lockers cannot deadlock.
const lockedRecords = preparedOn((s, model, p: { ids: readonly string[] }) => byIds(s, model, p.ids).selectAll().orderBy('id').forUpdate())
const sizes = preparedOn((s, model, p: { ids: readonly string[] }) =>
  byIds(s, model, p.ids).select(['id', sql.raw<number>(recordSizeSql(s.dialect, model)).as('size')]),
)

/**
 * The records with these ids (tombstones included), by id; with `lock`, locked against other
 * writers until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's write transaction
 * already excludes every other).
 */
export async function selectRecords(
  s: SqlSession,
  model: ModelDefinition,
  ids: readonly string[],
  lock = false,
): Promise<Map<string, StoredRecord>> {
  const found = new Map<string, StoredRecord>()
  if (ids.length === 0) return found
  for (const row of await (lock ? lockedRecords : records)(s, model, { ids })) found.set(row.id, decodeRecord(model, row))
  return found
}

/** The estimated wire size of each record named (`record-size.ts`), without loading it. */
export async function selectSizes(s: SqlSession, model: ModelDefinition, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map()
  return new Map((await sizes(s, model, { ids })).map((r) => [r.id, Number(r.size)]))
}
