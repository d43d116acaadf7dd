/**
 * Running the account tables' queries inside a `Storage.sqlTransaction` (or `sqlRead`) context.
 * Queries are written once with the dialect's builder; values are plain strings, numbers and
 * booleans (booleans as 0/1 on SQLite).
 */
import type { Compilable } from 'kysely'
import type { SqlContext } from '../storage/sql-executor.ts'

/** The rows a query returns. */
export async function rows(ctx: SqlContext, q: Compilable): Promise<Record<string, unknown>[]> {
  const c = q.compile()
  return ctx.exec.query(c.sql, c.parameters)
}

/** Runs a statement that returns nothing. */
export async function run(ctx: SqlContext, q: Compilable): Promise<void> {
  const c = q.compile()
  await ctx.exec.run(c.sql, c.parameters)
}

/** A nullable text column as a string or null. */
export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** A boolean as the dialect stores it. */
export const bool = (ctx: SqlContext, v: boolean): boolean | number => (ctx.dialect.codec.booleanAsInteger ? (v ? 1 : 0) : v)

/** A boolean column as read back. */
export const isTrue = (v: unknown): boolean => v === true || v === 1

/**
 * Takes the row lock of `table`'s row `id` until the transaction ends (PostgreSQL `FOR UPDATE`),
 * so that transactions changing what hangs off that row (an organization's roles, a device's
 * sessions) run one after another. SQLite transactions already run one at a time.
 */
export async function lockRow(ctx: SqlContext, table: string, id: string): Promise<boolean> {
  if (ctx.dialect.name === 'sqlite')
    return (await rows(ctx, ctx.dialect.builder.selectFrom(table).select('id').where('id', '=', id))).length > 0
  return (await rows(ctx, ctx.dialect.builder.selectFrom(table).select('id').where('id', '=', id).forUpdate())).length > 0
}
