/**
 * Pulse's own tables as one typed Kysely schema: every query on them is checked against these
 * rows, and rows come back typed. Stores beside the engine add their tables with Kysely's
 * `withTables` (the accounts: `AccountTables` in `accounts/account-tables.ts`). Both databases
 * return the same values for these types (see each dialect): integers as numbers, timestamps as
 * ISO-8601 UTC strings, JSON as its text; booleans are `SqlBool`, SQLite's 0/1 or a boolean.
 */
import { SYSTEM_FIELDS } from '@pulse/core'
import type { ColumnType, Generated, Selectable, SqlBool } from 'kysely'
import type { HistoryOp } from './storage.ts'

/** A boolean column: written as a boolean, read back as 0/1 (SQLite) or a boolean (PostgreSQL). */
export type BoolColumn = ColumnType<SqlBool, boolean, boolean>
/** JSON, as its text. */
type JsonText = string

/** The column holding per-field versions (StoredRecord.fieldVersions) as JSON. */
export const FIELD_VERSIONS_COLUMN = '_fv'

/** System columns of every model table, in table order, before the model's fields: core's system fields (§1), then `_fv`. */
export const SYSTEM_COLUMNS = [...SYSTEM_FIELDS, FIELD_VERSIONS_COLUMN] as const satisfies readonly (keyof RecordTable)[]

/**
 * A model's table: the system columns, then one column per field. Fields are named at run time,
 * so queries name them with `sql.id` and rows carry them untyped (`RecordRow`).
 */
export type RecordTable = {
  id: string
  version: number
  vclock: JsonText
  createdAt: string
  updatedAt: string
  deletedAt: string | null
  _fv: JsonText
}

/** A row of a model's table as read: typed system columns, and the fields' raw values by name. */
export type RecordRow = Selectable<RecordTable> & Readonly<Record<string, unknown>>

/** Every model table, by the model's name. */
export type ModelTables = Record<string, RecordTable>

/** Conflicts (§5), open and resolved. */
export type ConflictsTable = {
  id: string
  model: string
  record_id: string
  fields: JsonText
  base: JsonText
  local: JsonText
  remote: JsonText
  client_id: string | null
  user_id: string | null
  created_at: string
  status: 'open' | 'resolved'
  resolution: JsonText | null
}

/** Pulse's system tables (their DDL: `system-tables.ts`). */
export type Database = {
  /** The change order (§2): each record's latest change, and its removal from a scope (§8). */
  pulse_changes: {
    seq: Generated<number>
    model: string
    record_id: string
    version: number
    owner_id: string | null
    org_id: string | null
    deleted: BoolColumn
    removed: ColumnType<SqlBool, boolean | undefined, boolean>
    /** '' for the record's live entry; for a removal, the scope it left (`scopeLeftKey`). */
    scope_left: ColumnType<string, string | undefined, string>
  }
  /** The audit trail (§10 history). */
  pulse_history: {
    id: Generated<number>
    model: string
    record_id: string
    version: number
    op: HistoryOp
    changes: JsonText
    user_id: string | null
    device_id: string | null
    request_id: string | null
    at: string
  }
  /** Each client's last mutation id and owner (§4). */
  pulse_clients: { client_id: string; last_mid: number; owner: string | null; updated_at: string }
  /** The refusals among each client's recent mutations, to answer a retry as the first time (§4). */
  pulse_refusals: { client_id: string; mid: number; code: string; message: string; field: string | null; at: string }
  /** Settings of the database itself: storage format, purge watermark, probe. */
  pulse_meta: { key: string; value: string | null; updated_at: string }
  /** The stored definition of each migrated model (`schema-snapshot.ts`). */
  pulse_schema: { model: string; definition: JsonText; updated_at: string }
  pulse_conflicts: ConflictsTable
}
