/**
 * PostgreSQL as the shared storage code sees it. Text columns use the "C" collation, so text
 * orders by code point exactly as SQLite's BINARY does and lists page the same on both.
 */
import type { FieldSpec } from '@pulse/core'
import { type DatabaseIntrospector, type Kysely, PostgresAdapter, PostgresQueryCompiler, sql, type TableMetadata } from 'kysely'
import type { SqlDialect } from '../dialect.ts'

const TEXT = 'text COLLATE "C"'

function columnType(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string {
  switch (spec.kind) {
    case 'boolean':
      return 'boolean'
    case 'integer':
      return 'bigint'
    case 'decimal': {
      // defineModel bounds both; the integers are checked again because they reach DDL text.
      const precision = Number(spec.precision ?? 10)
      const scale = Number(spec.scale ?? 2)
      if (!Number.isInteger(precision) || !Number.isInteger(scale)) throw new Error('decimal precision and scale must be integers')
      return `numeric(${precision},${scale})`
    }
    case 'datetime':
      return 'timestamptz'
    case 'date':
      return 'date'
    case 'json':
    case 'set':
      return 'jsonb'
    default:
      return 'text'
  }
}

/**
 * The tables of the current schema only (Kysely's own introspector reads every schema of the
 * database, and a database may hold many Pulse schemas).
 */
function createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
  const getTables = async (): Promise<TableMetadata[]> => {
    const { rows } = await sql<{ name: string; columns: string }>`
      SELECT table_name AS "name", json_agg(json_build_object('name', column_name, 'dataType', data_type,
        'isNullable', is_nullable = 'YES', 'isAutoIncrementing', false, 'hasDefaultValue', column_default IS NOT NULL)
        ORDER BY ordinal_position) AS "columns"
      FROM information_schema.columns WHERE table_schema = current_schema() GROUP BY table_name`.execute(db)
    return rows.map((r) => ({ name: r.name, isView: false, columns: JSON.parse(r.columns) }))
  }
  return { getSchemas: async () => [], getTables, getMetadata: async () => ({ tables: await getTables() }) }
}

/** Name of the sequence handing out change positions. */
export const CHANGES_SEQUENCE = 'pulse_changes_seq'

/** The PostgreSQL dialect. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  kysely: { createAdapter: () => new PostgresAdapter(), createQueryCompiler: () => new PostgresQueryCompiler(), createIntrospector },
  columnType,
  columnDefinition: (spec) => (columnType(spec) === 'text' ? TEXT : columnType(spec)),
  types: {
    text: TEXT,
    integer: 'bigint',
    json: 'jsonb',
    timestamp: 'timestamptz',
    boolean: 'boolean',
    serial: 'bigserial',
    // Positions come from CHANGES_SEQUENCE, allocated under a lock (postgres-statements.ts).
    position: 'bigint',
    autoIncrement: false,
  },
  castDecimalForOrder: false,
  // One array parameter: a fixed statement text whatever the number of values.
  inList: (column, values) => sql<boolean>`${sql.ref(column)} = ANY(${values}::text[])`,
  // octet_length takes text: jsonb is rendered; text is measured without detoasting.
  byteLength: (column) => `octet_length(${column}::text)`,
}
