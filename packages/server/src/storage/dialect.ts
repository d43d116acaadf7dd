/**
 * What the shared storage code needs to know about a database: column types, how its driver
 * represents values, and a query builder that compiles to its SQL. Each dialect folder
 * (`sqlite/`, `postgres/`) provides one; queries, DDL and migrations are written once against it.
 */
import type { FieldSpec } from '@pulse/core'
import { type DatabaseIntrospector, type DialectAdapter, DummyDriver, type Kysely, Kysely as KyselyClass, type QueryCompiler } from 'kysely'
import type { ValueCodec } from './codec.ts'

/** Any table with any columns: Pulse's tables are named by model definitions at run time. */
export type AnyDatabase = Record<string, Record<string, unknown>>

/** The parts of a database that shared storage code depends on. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres'
  readonly codec: ValueCodec
  /** Builds and compiles queries for this database; it never executes anything. */
  readonly builder: Kysely<AnyDatabase>
  /** The SQL type of a field's column, as used in casts (`numeric(10,2)`, `text`). */
  columnType(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string
  /**
   * The column's type in DDL: the type plus its collation where the dialect sets one. No NOT
   * NULL: validation enforces nullability, so making a field nullable never rebuilds a table.
   */
  columnDefinition(spec: Pick<FieldSpec, 'kind' | 'precision' | 'scale'>): string
  /** DDL types of the system columns. */
  readonly types: { readonly id: string; readonly integer: string; readonly json: string; readonly timestamp: string }
  /** Decimals are stored as text and must be compared as numbers when ordering (SQLite). */
  readonly castDecimalForOrder: boolean
  /** DDL creating Pulse's own tables, in their latest shape; every statement is idempotent (IF NOT EXISTS). */
  readonly systemTables: readonly string[]
  /**
   * DDL bringing Pulse's own tables of an older storage format to the latest: entry `i` takes
   * format `i + 1` to `i + 2`, so the latest format is `systemUpgrades.length + 1`. Both dialects
   * list the same number of steps.
   */
  readonly systemUpgrades: readonly (readonly string[])[]
}

/** A Kysely instance that only compiles queries, for a dialect's adapter and compiler. */
export function createCompileOnlyBuilder(parts: {
  adapter: () => DialectAdapter
  compiler: () => QueryCompiler
  introspector: (db: Kysely<AnyDatabase>) => DatabaseIntrospector
}): Kysely<AnyDatabase> {
  return new KyselyClass<AnyDatabase>({
    dialect: {
      createAdapter: parts.adapter,
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => parts.introspector(db as Kysely<AnyDatabase>),
      createQueryCompiler: parts.compiler,
    },
  })
}
