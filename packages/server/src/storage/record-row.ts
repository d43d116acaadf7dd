/**
 * A StoredRecord as one table row and back. Parameters come in `recordColumns` order, so one
 * cached statement per model serves every insert and update.
 */
import type { ModelDefinition } from '@pulse/core'
import { decodeJson, decodeValue, encodeJson, encodeValue, type ValueCodec } from './codec.ts'
import { FIELD_VERSIONS_COLUMN } from './naming.ts'
import type { StoredRecord } from './storage.ts'

/** The record's column values in `recordColumns(model)` order. */
export function encodeRecord(codec: ValueCodec, model: ModelDefinition, record: StoredRecord): unknown[] {
  const row: unknown[] = [
    record.id,
    record.version,
    encodeJson(record.vclock),
    record.createdAt,
    record.updatedAt,
    record.deletedAt,
    encodeJson(record.fieldVersions),
  ]
  for (const [name, spec] of model.specs) row.push(encodeValue(codec, spec, record.values[name]))
  return row
}

function text(raw: unknown): string {
  return typeof raw === 'string' ? raw : String(raw)
}

/** A row read with every column of `recordColumns(model)`, as a StoredRecord. */
export function decodeRecord(codec: ValueCodec, model: ModelDefinition, row: Record<string, unknown>): StoredRecord {
  const values: Record<string, unknown> = {}
  for (const [name, spec] of model.specs) values[name] = decodeValue(codec, spec, row[name])
  return {
    id: text(row.id),
    version: Number(row.version),
    vclock: (decodeJson(codec, row.vclock) ?? {}) as Record<string, number>,
    createdAt: text(row.createdAt),
    updatedAt: text(row.updatedAt),
    deletedAt: row.deletedAt === null || row.deletedAt === undefined ? null : text(row.deletedAt),
    fieldVersions: (decodeJson(codec, row[FIELD_VERSIONS_COLUMN]) ?? {}) as Record<string, number>,
    values,
  }
}
