/**
 * DDL of model tables, compiled per dialect: the table with its system columns and one column
 * per field, and the indexes scoped pulls and default listing need.
 */
import type { FieldSpec, ModelDefinition } from '@pulse/core'
import { sql } from 'kysely'
import type { SqlDialect } from './dialect.ts'
import { FIELD_VERSIONS_COLUMN, indexName } from './naming.ts'

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

/** CREATE TABLE for a model (without its indexes). */
export function createTableSql(dialect: SqlDialect, model: ModelDefinition): string {
  const t = dialect.types
  let q = dialect.builder.schema
    .createTable(model.name)
    .addColumn('id', sql.raw(t.id), (c) => c.primaryKey())
    .addColumn('version', sql.raw(t.integer), (c) => c.notNull())
    .addColumn('vclock', sql.raw(t.json), (c) => c.notNull())
    .addColumn('createdAt', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('updatedAt', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('deletedAt', sql.raw(t.timestamp))
    .addColumn(FIELD_VERSIONS_COLUMN, sql.raw(t.json), (c) => c.notNull())
  for (const [field, spec] of model.specs) q = q.addColumn(field, sql.raw(dialect.columnDefinition(spec)))
  return q.compile().sql
}

/** CREATE INDEX for one index of `table`. */
export function createIndexSql(dialect: SqlDialect, table: string, index: IndexDef): string {
  let q = dialect.builder.schema
    .createIndex(index.name)
    .ifNotExists()
    .on(table)
    .columns([...index.columns])
  for (const column of index.partial ? index.columns : []) q = q.where(sql.id(column), 'is not', null)
  return q.compile().sql
}

/** DROP INDEX IF EXISTS (index names are unique per database or schema). */
export function dropIndexSql(dialect: SqlDialect, index: IndexDef): string {
  return dialect.builder.schema.dropIndex(index.name).ifExists().compile().sql
}

/** ALTER TABLE … ADD COLUMN for a field. */
export function addColumnSql(dialect: SqlDialect, table: string, field: string, spec: FieldSpec): string {
  return dialect.builder.schema
    .alterTable(table)
    .addColumn(field, sql.raw(dialect.columnDefinition(spec)))
    .compile().sql
}

/** ALTER TABLE … DROP COLUMN. */
export function dropColumnSql(dialect: SqlDialect, table: string, field: string): string {
  return dialect.builder.schema.alterTable(table).dropColumn(field).compile().sql
}

/** DROP TABLE. */
export function dropTableSql(dialect: SqlDialect, table: string): string {
  return dialect.builder.schema.dropTable(table).compile().sql
}
