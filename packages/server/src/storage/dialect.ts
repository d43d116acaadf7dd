/**
 * The seam between Pulse's storage logic, written once (`sql-storage.ts`, `sql-tx.ts`, the
 * migrations), and one SQL database, after Kysely's model. Each dialect folder (`sqlite/`,
 * `postgres/`) provides a `SqlDriver`: the Kysely parts compiling for its database (adapter,
 * query compiler, introspector), its column types, how it runs transactions and reads on its
 * connections, and the write path's statements, hand-written next to their benchmarks.
 */
import type { FieldSpec, ModelDefinition } from '@pulse/core'
import { type DatabaseConnection, type Dialect, type Expression, Kysely, type SqlBool } from 'kysely'
import type { Database, ModelTables } from './database.ts'
import type { ChangeEntry } from './storage.ts'

/** What queries and DDL need to know about a database. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres'
  /** Kysely's parts for this database: adapter, query compiler, introspector. */
  readonly kysely: Omit<Dialect, 'createDriver'>
  /** The SQL type of a field's column, as used in casts (`numeric(10,2)`, `text`). */
  columnType(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string
  /**
   * The column's type in DDL: the type plus its collation where the dialect sets one. No NOT
   * NULL: validation enforces nullability, so making a field nullable never rebuilds a table.
   */
  columnDefinition(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string
  /**
   * DDL types of the system columns. `serial` is a key numbered by the database, `position` a
   * change-order position; with `autoIncrement` both are AUTOINCREMENT keys (never reused).
   */
  readonly types: Readonly<Record<'text' | 'integer' | 'json' | 'timestamp' | 'boolean' | 'serial' | 'position', string>> & {
    readonly autoIncrement: boolean
  }
  /**
   * DDL of the dialect's own system objects beside the tables (PostgreSQL: the change-position
   * sequence and the function claiming positions), run by every migration; idempotent.
   */
  readonly systemDdl: readonly string[]
  /** Decimals are stored as text and must be compared as numbers when ordering (SQLite). */
  readonly castDecimalForOrder: boolean
  /** `column IN (values)` with the list as one parameter: its text is the same whatever the number of values. */
  inList(column: string, values: readonly string[]): Expression<SqlBool>
  /** SQL measuring the bytes of a column's stored value (`record-size.ts`). */
  byteLength(quotedColumn: string): string
}

/** The write path's statements: batches in one round trip (PostgreSQL) or cached per-row statements (SQLite). */
export interface HotStatements {
  /** Inserts rows given in `recordColumns(model)` order. */
  insertRecords(model: ModelDefinition, rows: readonly unknown[][]): Promise<void>
  /** Replaces rows (matched by id, each id once) given in `recordColumns(model)` order; returns how many matched. */
  updateRecords(model: ModelDefinition, rows: readonly unknown[][]): Promise<number>
  /** Inserts history rows given in `HISTORY_COLUMNS` order. */
  appendHistory(rows: readonly unknown[][]): Promise<void>
  /**
   * Replaces each record's change-order entry and returns the new positions, in order: one
   * consecutive block per transaction. With `watermark`, a reader never skips one (§2, no gaps).
   */
  appendChanges(entries: readonly ChangeEntry[]): Promise<number[]>
  /**
   * Where positions can commit out of allocation order (PostgreSQL): the highest committed
   * position below which every position is finished (committed, or never will be), read in
   * one statement; reads of the change order stop there (§2, no gaps). Undefined where
   * positions commit in allocation order (SQLite: one writer), so the head is the largest.
   */
  watermark(): Promise<number | undefined>
  /** Sets one column of many rows, matched by id, to encoded values (migrations). */
  setColumn(table: string, column: string, columnType: string, rows: readonly (readonly [id: string, value: unknown])[]): Promise<void>
}

/** One connection, held by a transaction or a read. */
export interface SqlSession {
  readonly dialect: SqlDialect
  /** Typed queries on Pulse's tables. */
  readonly db: Kysely<Database>
  /** Queries on model tables. */
  readonly models: Kysely<ModelTables>
  /** The connection itself, for queries compiled once (`prepared.ts`). */
  readonly connection: DatabaseConnection
  readonly hot: HotStatements
}

/** A database's connections: transactions and reads, each on a session. */
export interface SqlDriver {
  readonly dialect: SqlDialect
  /** The database as error messages name it ("the SQLite database ./pulse.db"), without credentials. */
  readonly describe: string
  /**
   * Runs `fn` between BEGIN and COMMIT (ROLLBACK when it throws, or always when `commit` is
   * false). Transactions do not interleave their effects. The storage re-runs `fn` after a
   * transient failure (`isTransient`) and maps errors (`toStorageError`).
   */
  write<T>(fn: (session: SqlSession) => Promise<T>, options?: { signal?: AbortSignal | undefined; commit?: boolean }): Promise<T>
  /** Runs reads beside writers, never waiting for them; with `snapshot`, all of them see one state. */
  read<T>(fn: (session: SqlSession) => Promise<T>, options?: { signal?: AbortSignal | undefined; snapshot?: boolean }): Promise<T>
  /** First thing in a migration's transaction: exclusive access, and where the tables go. */
  prepareMigration(session: SqlSession): Promise<void>
  close(): Promise<void>
}

/** A session on `connection`: Kysely compiles for `dialect` and runs every query there. */
export function createSession(dialect: SqlDialect, connection: DatabaseConnection, hot: HotStatements): SqlSession {
  const refuse = (): Promise<never> => Promise.reject(new Error('the storage runs transactions (SqlDriver.write)'))
  const kyselyDialect: Dialect = {
    ...dialect.kysely,
    createDriver: () => ({
      init: async () => {},
      acquireConnection: async () => connection,
      beginTransaction: refuse,
      commitTransaction: refuse,
      rollbackTransaction: refuse,
      releaseConnection: async () => {},
      destroy: async () => {},
    }),
  }
  return {
    dialect,
    db: new Kysely<Database>({ dialect: kyselyDialect }),
    models: new Kysely<ModelTables>({ dialect: kyselyDialect }),
    connection,
    hot,
  }
}
