/**
 * DDL of model tables, run on a session: the table with its system columns and one column per
 * field, and the indexes scoped pulls and default listing need.
 */
import type { FieldSpec, ModelDefinition } from '@pulse/core'
import { sql } from 'kysely'
import { FIELD_VERSIONS_COLUMN } from './database.ts'
import type { SqlSession } from './dialect.ts'
import { indexName } from './naming.ts'

/** An index of a model table. */
export interface IndexDef {
  readonly name: string
  readonly columns: readonly string[]
  /**
   * Partial: only rows where the (single) column is not NULL. Lookups by value (`col = ?`)
   * still use it, and rows without an owner, org or ref cost no index write.
   */
  readonly partial?: boolean
}

const INDEXED_KINDS: ReadonlySet<string> = new Set(['owner', 'org', 'ref'])

/** The index a field gets (owner, org and ref fields: scoped pulls and lookups), if any. */
export function fieldIndex(table: string, field: string, spec: Pick<FieldSpec, 'kind'>): IndexDef | undefined {
  return INDEXED_KINDS.has(spec.kind) ? { name: indexName(table, [field]), columns: [field], partial: true } : undefined
}

/** Every index of a model's table: its field indexes and (createdAt, id) for default listing. */
export function modelIndexes(model: ModelDefinition): IndexDef[] {
  const indexes: IndexDef[] = []
  for (const [field, spec] of model.specs) {
    const index = fieldIndex(model.name, field, spec)
    if (index) indexes.push(index)
  }
  indexes.push({ name: indexName(model.name, ['createdAt', 'id']), columns: ['createdAt', 'id'] })
  return indexes
}

/** Creates a model's table (without its indexes). */
export async function createTable(s: SqlSession, model: ModelDefinition): Promise<void> {
  const t = s.dialect.types
  let q = s.db.schema
    .createTable(model.name)
    .addColumn('id', sql.raw(t.text), (c) => c.primaryKey())
    .addColumn('version', sql.raw(t.integer), (c) => c.notNull())
    .addColumn('vclock', sql.raw(t.json), (c) => c.notNull())
    .addColumn('createdAt', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('updatedAt', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('deletedAt', sql.raw(t.timestamp))
    .addColumn(FIELD_VERSIONS_COLUMN, sql.raw(t.json), (c) => c.notNull())
  for (const [field, spec] of model.specs) q = q.addColumn(field, sql.raw(s.dialect.columnDefinition(spec)))
  await q.execute()
}

/** Creates one index of `table`. */
export async function createIndex(s: SqlSession, table: string, index: IndexDef): Promise<void> {
  let q = s.db.schema
    .createIndex(index.name)
    .ifNotExists()
    .on(table)
    .columns([...index.columns])
  for (const column of index.partial ? index.columns : []) q = q.where(sql.id(column), 'is not', null)
  await q.execute()
}

/** Adds a field's column. */
export async function addColumn(s: SqlSession, table: string, field: string, spec: FieldSpec): Promise<void> {
  await s.db.schema
    .alterTable(table)
    .addColumn(field, sql.raw(s.dialect.columnDefinition(spec)))
    .execute()
}
