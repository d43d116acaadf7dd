/**
 * SQLite as the shared storage code sees it. Values are stored as TEXT where SQLite has no
 * native type (decimals as canonical strings, datetimes as ISO `…Z` strings, which sort
 * correctly as text, dates as `YYYY-MM-DD`, JSON and sets as JSON text) and booleans as 0/1.
 */
import type { FieldSpec } from '@pulse/core'
import { type SelectQueryNode, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from 'kysely'
import type { SqlDialect } from '../dialect.ts'

function columnType(spec: Pick<FieldSpec, 'kind'>): string {
  return spec.kind === 'boolean' || spec.kind === 'integer' ? 'INTEGER' : 'TEXT'
}

/** SQLite has no row locks: a write transaction (BEGIN IMMEDIATE) already excludes every other writer. */
class PulseSqliteCompiler extends SqliteQueryCompiler {
  protected override visitSelectQuery(node: SelectQueryNode): void {
    super.visitSelectQuery(node.endModifiers ? { ...node, endModifiers: undefined } : node)
  }
}

/** The SQLite dialect. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  kysely: {
    createAdapter: () => new SqliteAdapter(),
    createQueryCompiler: () => new PulseSqliteCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  },
  columnType,
  columnDefinition: columnType,
  types: {
    text: 'TEXT',
    integer: 'INTEGER',
    json: 'TEXT',
    timestamp: 'TEXT',
    boolean: 'INTEGER',
    serial: 'INTEGER',
    position: 'INTEGER',
    autoIncrement: true,
  },
  castDecimalForOrder: true,
  systemDdl: [],
  // One parameter, bound as a JSON array (`bindable`): one statement text serves any list.
  inList: (column, values) => sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${values}))`,
  // Measured from the record header, without reading the value.
  byteLength: (column) => `octet_length(${column})`,
}
