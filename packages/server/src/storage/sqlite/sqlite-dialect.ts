/**
 * SQLite as the shared storage code sees it. Values are stored as TEXT where SQLite has no
 * native type (decimals as canonical strings, datetimes as ISO `…Z` strings, which sort
 * correctly as text, dates as `YYYY-MM-DD`, JSON and sets as JSON text) and booleans as 0/1.
 */
import type { FieldSpec } from '@pulse/core'
import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely'
import { createCompileOnlyBuilder, type SqlDialect } from '../dialect.ts'
import { PULSE_TABLES as T } from '../naming.ts'

function columnType(spec: Pick<FieldSpec, 'kind'>): string {
  switch (spec.kind) {
    case 'boolean':
    case 'integer':
      return 'INTEGER'
    default:
      return 'TEXT'
  }
}

// seq uses AUTOINCREMENT: appendChanges deletes a record's previous entry, which may be the
// newest one, and a plain rowid would then hand out that position again (§2: never reused).
const SYSTEM_TABLES = [
  `CREATE TABLE IF NOT EXISTS "${T.changes}" ("seq" INTEGER PRIMARY KEY AUTOINCREMENT, "model" TEXT NOT NULL, "record_id" TEXT NOT NULL, "version" INTEGER NOT NULL, "owner_id" TEXT, "org_id" TEXT, "deleted" INTEGER NOT NULL, "removed" INTEGER NOT NULL DEFAULT 0)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS "${T.changes}__model_record_id_removed_idx" ON "${T.changes}" ("model", "record_id", "removed")`,
  `CREATE TABLE IF NOT EXISTS "${T.history}" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "model" TEXT NOT NULL, "record_id" TEXT NOT NULL, "version" INTEGER NOT NULL, "op" TEXT NOT NULL, "changes" TEXT NOT NULL, "user_id" TEXT, "device_id" TEXT, "request_id" TEXT, "at" TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS "${T.history}__model_record_id_version_idx" ON "${T.history}" ("model", "record_id", "version")`,
  `CREATE TABLE IF NOT EXISTS "${T.clients}" ("client_id" TEXT PRIMARY KEY, "last_mid" INTEGER NOT NULL, "owner" TEXT, "updated_at" TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.meta}" ("key" TEXT PRIMARY KEY, "value" TEXT, "updated_at" TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.schema}" ("model" TEXT PRIMARY KEY, "definition" TEXT NOT NULL, "updated_at" TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "${T.conflicts}" ("id" TEXT PRIMARY KEY, "model" TEXT NOT NULL, "record_id" TEXT NOT NULL, "fields" TEXT NOT NULL, "base" TEXT NOT NULL, "local" TEXT NOT NULL, "remote" TEXT NOT NULL, "client_id" TEXT, "user_id" TEXT, "created_at" TEXT NOT NULL, "status" TEXT NOT NULL, "resolution" TEXT)`,
  `CREATE INDEX IF NOT EXISTS "${T.conflicts}__user_id_created_at_idx" ON "${T.conflicts}" ("user_id", "created_at")`,
  // Scoped listings walk conflicts newest first and stop at the page's end (§5).
  `CREATE INDEX IF NOT EXISTS "${T.conflicts}__created_at_id_idx" ON "${T.conflicts}" ("created_at", "id")`,
]

/** The SQLite dialect. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  codec: { booleanAsInteger: true, jsonParsedByDriver: false },
  builder: createCompileOnlyBuilder({
    adapter: () => new SqliteAdapter(),
    compiler: () => new SqliteQueryCompiler(),
    introspector: (db) => new SqliteIntrospector(db),
  }),
  columnType,
  columnDefinition: columnType,
  types: { id: 'TEXT', integer: 'INTEGER', json: 'TEXT', timestamp: 'TEXT' },
  castDecimalForOrder: true,
  systemTables: SYSTEM_TABLES,
  systemUpgrades: [
    // 1 → 2: a clientId belongs to whoever first pushed as it (§4).
    [`ALTER TABLE "${T.clients}" ADD COLUMN "owner" TEXT`],
  ],
}
