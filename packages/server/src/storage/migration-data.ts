/**
 * The data questions a migration plan asks (how many rows, how many values a step would lose)
 * and the data writes it makes, on model tables.
 */
import { checkFieldValue, type FieldSpec, PulseError } from '@pulse/core'
import { sql } from 'kysely'
import { decodeValue, encodeValue } from './codec.ts'
import type { SqlSession } from './dialect.ts'

/** Rows in a model's table; with `column`, rows where that column is not NULL. */
export async function countRows(s: SqlSession, table: string, column?: string): Promise<number> {
  const counted = column === undefined ? sql<number>`count(*)` : sql<number>`count(${sql.id(column)})`
  const row = await s.models.selectFrom(table).select(counted.as('n')).executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** Every row's id and decoded value of one column. */
export async function readColumn(
  s: SqlSession,
  table: string,
  column: string,
  kind: Pick<FieldSpec, 'kind'>,
): Promise<{ id: string; value: unknown }[]> {
  const rows = await s.models
    .selectFrom(table)
    .select(['id', sql.id(column).as('v')])
    .execute()
  return rows.map((r) => ({ id: r.id, value: decodeValue(kind, r.v) }))
}

/** Sets `column` of every row to one canonical value. */
export async function fillColumn(s: SqlSession, table: string, column: string, spec: FieldSpec, value: unknown): Promise<void> {
  await s.models
    .updateTable(table)
    .set({ [column]: encodeValue(spec, value) })
    .execute()
}

/** Writes canonical values into `column`, row by row (matched by id), in one batch. */
export async function writeColumn(
  s: SqlSession,
  table: string,
  column: string,
  spec: FieldSpec,
  rows: readonly { id: string; value: unknown }[],
): Promise<void> {
  if (rows.length === 0) return
  const encoded = rows.map((r) => [r.id, encodeValue(spec, r.value)] as const)
  await s.hot.setColumn(table, column, s.dialect.columnType(spec), encoded)
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
