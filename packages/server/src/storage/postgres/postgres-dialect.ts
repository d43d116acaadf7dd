/**
 * PostgreSQL as the shared storage code sees it. Text columns use the "C" collation, so text
 * orders by code point exactly as SQLite's BINARY does and lists page the same on both.
 */
import type { FieldSpec } from '@pulse/core'
import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import { createCompileOnlyBuilder, type SqlDialect } from '../dialect.ts'
import { PULSE_TABLES as T } from '../naming.ts'

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

function columnDefinition(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string {
  const type = columnType(spec)
  return type === 'text' ? TEXT : type
}

/** Name of the sequence handing out change positions. */
export const CHANGES_SEQUENCE = 'pulse_changes_seq'

const SYSTEM_TABLES = [
  `CREATE SEQUENCE IF NOT EXISTS "${CHANGES_SEQUENCE}"`,
  `CREATE TABLE IF NOT EXISTS "${T.changes}" ("seq" bigint PRIMARY KEY, "model" ${TEXT} NOT NULL, "record_id" ${TEXT} NOT NULL, "version" bigint NOT NULL, "owner_id" ${TEXT}, "org_id" ${TEXT}, "deleted" boolean NOT NULL, "removed" boolean NOT NULL DEFAULT false)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS "${T.changes}__model_record_id_removed_idx" ON "${T.changes}" ("model", "record_id", "removed")`,
  `CREATE TABLE IF NOT EXISTS "${T.history}" ("id" bigserial PRIMARY KEY, "model" ${TEXT} NOT NULL, "record_id" ${TEXT} NOT NULL, "version" bigint NOT NULL, "op" text NOT NULL, "changes" jsonb NOT NULL, "user_id" ${TEXT}, "device_id" ${TEXT}, "request_id" ${TEXT}, "at" timestamptz NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS "${T.history}__model_record_id_version_idx" ON "${T.history}" ("model", "record_id", "version")`,
  `CREATE TABLE IF NOT EXISTS "${T.clients}" ("client_id" ${TEXT} PRIMARY KEY, "last_mid" bigint NOT NULL, "owner" ${TEXT}, "updated_at" timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.meta}" ("key" ${TEXT} PRIMARY KEY, "value" text, "updated_at" timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.schema}" ("model" ${TEXT} PRIMARY KEY, "definition" json NOT NULL, "updated_at" timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.conflicts}" ("id" ${TEXT} PRIMARY KEY, "model" ${TEXT} NOT NULL, "record_id" ${TEXT} NOT NULL, "fields" jsonb NOT NULL, "base" jsonb NOT NULL, "local" jsonb NOT NULL, "remote" jsonb NOT NULL, "client_id" ${TEXT}, "user_id" ${TEXT}, "created_at" timestamptz NOT NULL, "status" text NOT NULL, "resolution" jsonb)`,
  `CREATE INDEX IF NOT EXISTS "${T.conflicts}__user_id_created_at_idx" ON "${T.conflicts}" ("user_id", "created_at")`,
  // Scoped listings walk conflicts newest first and stop at the page's end (§5).
  `CREATE INDEX IF NOT EXISTS "${T.conflicts}__created_at_id_idx" ON "${T.conflicts}" ("created_at", "id")`,
]

/** The PostgreSQL dialect. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  codec: { booleanAsInteger: false, jsonParsedByDriver: true },
  builder: createCompileOnlyBuilder({
    adapter: () => new PostgresAdapter(),
    compiler: () => new PostgresQueryCompiler(),
    introspector: (db) => new PostgresIntrospector(db),
  }),
  columnType,
  columnDefinition,
  types: { id: TEXT, integer: 'bigint', json: 'jsonb', timestamp: 'timestamptz' },
  castDecimalForOrder: false,
  systemTables: SYSTEM_TABLES,
  systemUpgrades: [
    // 1 → 2: a clientId belongs to whoever first pushed as it (§4).
    [`ALTER TABLE "${T.clients}" ADD COLUMN IF NOT EXISTS "owner" ${TEXT}`],
  ],
}
