/**
 * The data questions a migration plan asks (how many rows, how many values a step would lose)
 * and the data writes it makes, compiled per dialect and run through a SqlExecutor.
 */
import { checkFieldValue, type FieldSpec, PulseError } from '@pulse/core'
import { type CompiledQuery, sql } from 'kysely'
import { decodeValue, encodeValue } from './codec.ts'
import type { SqlContext } from './sql-executor.ts'

function run(ctx: SqlContext, q: CompiledQuery): Promise<Record<string, unknown>[]> {
  return ctx.exec.query(q.sql, q.parameters)
}

/** Rows in a table; with `column`, rows where that column is not NULL. */
export async function countRows(ctx: SqlContext, table: string, column?: string): Promise<number> {
  const counted = column === undefined ? sql`count(*)` : sql`count(${sql.id(column)})`
  const rows = await run(ctx, ctx.dialect.builder.selectFrom(table).select(counted.as('n')).compile())
  return Number(rows[0]?.n ?? 0)
}

/** Every row's id and decoded value of one column. */
export async function readColumn(
  ctx: SqlContext,
  table: string,
  column: string,
  kind: Pick<FieldSpec, 'kind'>,
): Promise<{ id: string; value: unknown }[]> {
  const q = ctx.dialect.builder
    .selectFrom(table)
    .select([sql.id('id').as('id'), sql.id(column).as('v')])
    .compile()
  const rows = await run(ctx, q)
  return rows.map((r) => ({ id: String(r.id), value: decodeValue(ctx.dialect.codec, kind, r.v) }))
}

/** Deletes the rows of `table` whose `column` equals `value`. */
export async function deleteWhere(ctx: SqlContext, table: string, column: string, value: string): Promise<void> {
  const q = ctx.dialect.builder.deleteFrom(table).where(sql.id(column), '=', value).compile()
  await ctx.exec.run(q.sql, q.parameters)
}

/** Sets `column` of every row to one canonical value. */
export async function fillColumn(ctx: SqlContext, table: string, column: string, spec: FieldSpec, value: unknown): Promise<void> {
  const q = ctx.dialect.builder
    .updateTable(table)
    .set({ [column]: encodeValue(ctx.dialect.codec, spec, value) })
    .compile()
  await ctx.exec.run(q.sql, q.parameters)
}

/** Writes canonical values into `column`, row by row (matched by id), in one batch. */
export async function writeColumn(
  ctx: SqlContext,
  table: string,
  column: string,
  spec: FieldSpec,
  rows: readonly { id: string; value: unknown }[],
): Promise<void> {
  if (rows.length === 0) return
  const encoded = rows.map((r) => [r.id, encodeValue(ctx.dialect.codec, spec, r.value)] as const)
  await ctx.exec.setColumn(table, column, ctx.dialect.columnType(spec), encoded)
}

/** How a new field gets its value on existing rows. */
export type DefaultFill =
  | { readonly kind: 'none' }
  | { readonly kind: 'static'; readonly value: unknown }
  | { readonly kind: 'function'; make(): unknown }

/**
 * The default of a new field for rows that exist already. A function default is called once
 * per existing row (so a generated id or timestamp differs per row, as it would on create).
 * Throws `bad_request` when the default is not a valid value of the field.
 */
export function defaultFill(where: string, spec: FieldSpec): DefaultFill {
  const checked = (value: unknown): unknown => {
    const c = checkFieldValue(spec, value)
    if (!c.ok) throw new PulseError('bad_request', `${where}: the default ${c.message}`)
    return c.value
  }
  const d = spec.default
  if (typeof d === 'function') return { kind: 'function', make: () => checked((d as () => unknown)()) }
  if (d !== undefined) return { kind: 'static', value: checked(d) }
  return { kind: 'none' }
}
