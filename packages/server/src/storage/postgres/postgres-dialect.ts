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

/** Name of the function claiming a block of change positions (`system-tables.ts`, change-order.md). */
export const CLAIM_FUNCTION = 'pulse_claim_positions'

/**
 * `pulse_claim_positions(n, alloc_class, alloc_key, pending_class)`: claims the next `n` change
 * positions as one contiguous block and returns its first (docs/change-order.md). Under a
 * session-level advisory lock held only for these few steps (never to COMMIT): it registers
 * the block as pending with a transaction-level shared advisory lock keyed by its first
 * position (visible in pg_locks to every reader until the claiming transaction ends), then
 * moves the sequence past the block. Registering before moving the sequence is what lets a
 * reader compute a watermark below every unfinished block (`watermark` in
 * postgres-statements.ts). Any failure releases the session lock before it is re-raised.
 */
const CLAIM_FUNCTION_DDL = `CREATE OR REPLACE FUNCTION "${CLAIM_FUNCTION}"(n bigint, alloc_class integer, alloc_key integer, pending_class integer)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $pulse$
DECLARE
  first bigint;
  low bigint;
BEGIN
  BEGIN
    PERFORM pg_advisory_lock(alloc_class, alloc_key);
    SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO first FROM "${CHANGES_SEQUENCE}";
    low := first % 4294967296;
    PERFORM pg_advisory_xact_lock_shared(pending_class, (CASE WHEN low >= 2147483648 THEN low - 4294967296 ELSE low END)::integer);
    PERFORM setval('"${CHANGES_SEQUENCE}"', first + n - 1, true);
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    PERFORM pg_advisory_unlock(alloc_class, alloc_key);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(alloc_class, alloc_key);
  RETURN first;
END
$pulse$`

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
    // Positions come from CHANGES_SEQUENCE, claimed in blocks by CLAIM_FUNCTION (postgres-statements.ts).
    position: 'bigint',
    autoIncrement: false,
  },
  castDecimalForOrder: false,
  // The sequence itself is created by prepareMigration (postgres-storage.ts), first.
  systemDdl: [CLAIM_FUNCTION_DDL],
  // One array parameter: a fixed statement text whatever the number of values.
  inList: (column, values) => sql<boolean>`${sql.ref(column)} = ANY(${values}::text[])`,
  // octet_length takes text: jsonb is rendered; text is measured without detoasting.
  byteLength: (column) => `octet_length(${column}::text)`,
}
