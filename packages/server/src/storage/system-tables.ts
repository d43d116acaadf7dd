/**
 * Pulse's own tables (`database.ts`), created in their latest shape on both databases from one
 * description in the dialect's column types, and the steps upgrading older storage formats.
 */
import { sql } from 'kysely'
import type { SqlDialect, SqlSession } from './dialect.ts'
import { SCOPE_SEPARATOR } from './log-rows.ts'

/**
 * A client's refused mutations, by mid, and those that opened a conflict (code `conflict`, the
 * conflict's id as message): a retry is answered as the first time (§4).
 */
const REFUSALS_TABLE = (t: SqlDialect['types']) =>
  `CREATE TABLE IF NOT EXISTS "pulse_refusals" ("client_id" ${t.text} NOT NULL, "mid" ${t.integer} NOT NULL, "code" ${t.text} NOT NULL, "message" ${t.text} NOT NULL, "field" ${t.text}, "at" ${t.timestamp} NOT NULL, PRIMARY KEY ("client_id", "mid"))`

function systemTables({ types: t }: SqlDialect): string[] {
  // AUTOINCREMENT keys are never reused: appendChanges replaces a record's entry, which may be
  // the newest, and a plain rowid would hand out that position again (§2: never reused).
  const key = t.autoIncrement ? 'PRIMARY KEY AUTOINCREMENT' : 'PRIMARY KEY'
  const [text, int, json, time, bool] = [t.text, t.integer, t.json, t.timestamp, t.boolean]
  return [
    `CREATE TABLE IF NOT EXISTS "pulse_changes" ("seq" ${t.position} ${key}, "model" ${text} NOT NULL, "record_id" ${text} NOT NULL, "version" ${int} NOT NULL, "owner_id" ${text}, "org_id" ${text}, "deleted" ${bool} NOT NULL, "removed" ${bool} NOT NULL DEFAULT false, "scope_left" ${text} NOT NULL DEFAULT '')`,
    `CREATE TABLE IF NOT EXISTS "pulse_history" ("id" ${t.serial} ${key}, "model" ${text} NOT NULL, "record_id" ${text} NOT NULL, "version" ${int} NOT NULL, "op" ${text} NOT NULL, "changes" ${json} NOT NULL, "user_id" ${text}, "device_id" ${text}, "request_id" ${text}, "at" ${time} NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS "pulse_history__model_record_id_version_idx" ON "pulse_history" ("model", "record_id", "version")`,
    `CREATE TABLE IF NOT EXISTS "pulse_clients" ("client_id" ${text} PRIMARY KEY, "last_mid" ${int} NOT NULL, "owner" ${text}, "updated_at" ${time} NOT NULL)`,
    REFUSALS_TABLE(t),
    `CREATE TABLE IF NOT EXISTS "pulse_meta" ("key" ${text} PRIMARY KEY, "value" ${text}, "updated_at" ${time} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS "pulse_schema" ("model" ${text} PRIMARY KEY, "definition" ${json} NOT NULL, "updated_at" ${time} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS "pulse_conflicts" ("id" ${text} PRIMARY KEY, "model" ${text} NOT NULL, "record_id" ${text} NOT NULL, "fields" ${json} NOT NULL, "base" ${json} NOT NULL, "local" ${json} NOT NULL, "remote" ${json} NOT NULL, "client_id" ${text}, "user_id" ${text}, "created_at" ${time} NOT NULL, "status" ${text} NOT NULL, "resolution" ${json})`,
    `CREATE INDEX IF NOT EXISTS "pulse_conflicts__user_id_created_at_idx" ON "pulse_conflicts" ("user_id", "created_at")`,
    // Scoped listings walk conflicts newest first and stop at the page's end (§5).
    `CREATE INDEX IF NOT EXISTS "pulse_conflicts__created_at_id_idx" ON "pulse_conflicts" ("created_at", "id")`,
  ]
}

/**
 * Indexes on columns an upgrade may add, so created after the upgrades. A record has one live
 * change-order entry (`scope_left` '') and one removal per scope it left (§8, `scopeLeftKey`).
 */
const SYSTEM_INDEXES = [
  `CREATE UNIQUE INDEX IF NOT EXISTS "pulse_changes__entry_idx" ON "pulse_changes" ("model", "record_id", "removed", "scope_left")`,
]

/** Creates (or replaces) the dialect's own system objects: PostgreSQL's position-claiming function. */
async function createDialectObjects(s: SqlSession): Promise<void> {
  for (const ddl of s.dialect.systemDdl) await sql.raw(ddl).execute(s.db)
}

/**
 * Creates every system table and dialect object that is missing (idempotent). Their indexes
 * come after the upgrades of an older format (`createSystemIndexes`).
 */
export async function createSystemTables(s: SqlSession): Promise<void> {
  for (const ddl of systemTables(s.dialect)) await sql.raw(ddl).execute(s.db)
  await createDialectObjects(s)
}

/** Creates every system index that is missing (idempotent), once the tables have their latest shape. */
export async function createSystemIndexes(s: SqlSession): Promise<void> {
  for (const ddl of SYSTEM_INDEXES) await sql.raw(ddl).execute(s.db)
}

/**
 * 4 → 5: one removal per scope a record left, where there was one per record, so a record
 * moved twice still reaches its first scope as a removal (§8). The existing removal rows get
 * their key (the SQL twin of `scopeLeftKey`); the unique index is replaced after the upgrades.
 * The column may already exist when a newer database was marked older (a test does that).
 */
async function keyRemovalsByScope(s: SqlSession): Promise<void> {
  const tables = await s.db.introspection.getTables()
  const changes = tables.find((t) => t.name === 'pulse_changes')
  if (!changes?.columns.some((c) => c.name === 'scope_left')) {
    await sql.raw(`ALTER TABLE "pulse_changes" ADD COLUMN "scope_left" ${s.dialect.types.text} NOT NULL DEFAULT ''`).execute(s.db)
  }
  await sql
    .raw(
      `UPDATE "pulse_changes" SET "scope_left" = coalesce("owner_id", '') || '${SCOPE_SEPARATOR}' || coalesce("org_id", '') WHERE "removed"`,
    )
    .execute(s.db)
  await sql.raw(`DROP INDEX IF EXISTS "pulse_changes__model_record_id_removed_idx"`).execute(s.db)
}

/**
 * The steps bringing Pulse's tables of an older storage format to the latest: entry `i` takes
 * format `i + 1` to `i + 2`, so the latest format is `SYSTEM_UPGRADES.length + 1`.
 */
export const SYSTEM_UPGRADES: readonly ((s: SqlSession) => Promise<unknown>)[] = [
  // 1 → 2: a clientId belongs to whoever first pushed as it (§4).
  (s) => sql.raw(`ALTER TABLE "pulse_clients" ADD COLUMN "owner" ${s.dialect.types.text}`).execute(s.db),
  // 2 → 3: PostgreSQL claims change positions in blocks without holding a lock until COMMIT,
  // and readers stop at a watermark (docs/change-order.md); its claiming function must exist.
  // Writers of format 2 drew positions under a lock a format-3 reader does not see: every
  // process of a deployment must run the new Pulse once this step has run. SQLite: unchanged.
  createDialectObjects,
  // 3 → 4: refusals are remembered, so a retry whose first answer was lost hears it again (§4).
  (s) => sql.raw(REFUSALS_TABLE(s.dialect.types)).execute(s.db),
  keyRemovalsByScope,
]
