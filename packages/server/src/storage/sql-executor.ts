/**
 * The narrow way shared code (migrations) runs SQL inside a dialect's transaction. Hot paths do
 * not use it: each dialect's transaction runs its own cached statements.
 */
import type { SqlDialect } from './dialect.ts'

/** Runs compiled SQL on the connection of one open transaction. */
export interface SqlExecutor {
  /** Rows of a query, as objects keyed by column name, values as the driver decodes them. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>
  /** Runs a statement that returns no rows. */
  run(sql: string, params?: readonly unknown[]): Promise<void>
  /**
   * Sets one column of many rows, matched by id, to already encoded values, as fast as the
   * database allows (one statement per batch on PostgreSQL, a cached statement per row on SQLite).
   */
  setColumn(table: string, column: string, columnType: string, rows: readonly (readonly [id: string, value: unknown])[]): Promise<void>
}

/** A dialect with an executor bound to one open transaction: what shared SQL code runs on. */
export interface SqlContext {
  readonly dialect: SqlDialect
  readonly exec: SqlExecutor
}
