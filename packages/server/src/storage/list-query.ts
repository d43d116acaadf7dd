/**
 * The SQL of `listRecords`: equality filters, one order with `id` as tiebreak, keyset paging.
 *
 * NULL ordering, the same on both databases: NULL sorts before every value, so ascending
 * lists put NULLs first and descending lists put them last (SQLite's natural order; on
 * PostgreSQL it is spelled out with NULLS FIRST / NULLS LAST). Descending is exactly the reverse
 * of ascending, `id` included, so a keyset position means the same thing in both directions.
 */
import { checkFieldValue, type FieldSpec, type ModelDefinition, PulseError } from '@pulse/core'
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely'
import { encodeValue } from './codec.ts'
import type { ModelTables } from './database.ts'
import type { SqlSession } from './dialect.ts'
import { ORDERABLE_SYSTEM_COLUMNS, requireField } from './naming.ts'
import { decodeRecord, selectRecords } from './record-row.ts'
import { pageLength, recordSizeSql } from './record-size.ts'
import type { ListQuery, RecordPage, StoredRecord } from './storage.ts'

type Eb = ExpressionBuilder<ModelTables, string>

// Caller-given values are meant to be canonical already; canonicalising here as well keeps a
// filter such as "12.5" matching a stored "12.50" on SQLite, where decimals are text.
function canonical(spec: FieldSpec, value: unknown): unknown {
  const checked = checkFieldValue(spec, value)
  return checked.ok ? checked.value : value
}

interface OrderTarget {
  column: string
  spec: FieldSpec | undefined
}

function orderTarget(model: ModelDefinition, field: string): OrderTarget {
  if (ORDERABLE_SYSTEM_COLUMNS.has(field)) return { column: field, spec: undefined }
  const spec = requireField(model, field, 'order by')
  if (spec.kind === 'json' || spec.kind === 'set') {
    throw new PulseError('bad_request', `cannot order by "${field}": ${spec.kind} fields have no order`)
  }
  return { column: field, spec }
}

/** The page query of `listRecords`, without its selection; throws `bad_request` for unknown fields. */
function pageQuery(s: SqlSession, model: ModelDefinition, query: ListQuery) {
  const { dialect } = s
  const { limit } = query
  if (!Number.isSafeInteger(limit) || limit < 1) throw new PulseError('bad_request', 'limit must be a positive integer')
  const order = query.orderBy ?? { field: 'createdAt', direction: 'asc' }
  if (order.direction !== 'asc' && order.direction !== 'desc') throw new PulseError('bad_request', 'direction must be asc or desc')
  const target = orderTarget(model, order.field)
  const asc = order.direction === 'asc'

  const castReal = dialect.castDecimalForOrder && target.spec?.kind === 'decimal'
  const operand = (e: Expression<unknown>): Expression<unknown> => (castReal ? sql`CAST(${e} AS REAL)` : e)
  const column = operand(sql.id(target.column))
  const param = (value: unknown): Expression<unknown> => {
    const v = target.spec ? encodeValue(target.spec, canonical(target.spec, value)) : value
    return operand(sql`${v}`)
  }

  let q = s.models.selectFrom(model.name)

  for (const [field, value] of Object.entries(query.where ?? {})) {
    const spec = requireField(model, field, 'filter on')
    if (value === undefined) continue
    q = value === null ? q.where(sql.id(field), 'is', null) : q.where(sql.id(field), '=', encodeValue(spec, canonical(spec, value)))
  }
  if (!query.includeDeleted) q = q.where(sql.id('deletedAt'), 'is', null)

  const after = query.after
  if (after) {
    const id = sql.id('id')
    const idPast = (eb: Eb) => eb(id, asc ? '>' : '<', after.id)
    q = q.where((eb: Eb): Expression<SqlBool> => {
      if (after.value === null || after.value === undefined) {
        // Past a NULL: the remaining NULLs by id, then (ascending) every non-NULL value.
        const nullsLeft = eb.and([eb(column, 'is', null), idPast(eb)])
        return asc ? eb.or([nullsLeft, eb(column, 'is not', null)]) : nullsLeft
      }
      const past = [eb(column, asc ? '>' : '<', param(after.value)), eb.and([eb(column, '=', param(after.value)), idPast(eb)])]
      // Descending lists end with the NULLs, which come after every value.
      return eb.or(asc ? past : [...past, eb(column, 'is', null)])
    })
  }

  return q
    .orderBy(column, (ob) => (asc ? ob.asc().nullsFirst() : ob.desc().nullsLast()))
    .orderBy(sql.id('id'), asc ? 'asc' : 'desc')
    .limit(limit)
}

/** A page of `listRecords`. */
export async function listRecords(s: SqlSession, model: ModelDefinition, query: ListQuery): Promise<StoredRecord[]> {
  return (await pageQuery(s, model, query).selectAll().execute()).map((row) => decodeRecord(model, row))
}

/**
 * A page of `listRecords` bounded in bytes too (`Storage.listPage`): where it ends is decided from
 * the records' estimated sizes (`record-size.ts`), read before any record is loaded.
 */
export async function listPage(s: SqlSession, model: ModelDefinition, query: ListQuery, maxBytes: number): Promise<RecordPage> {
  const sizes = await pageQuery(s, model, { ...query, limit: query.limit + 1 })
    .select(['id', sql.raw<number>(recordSizeSql(s.dialect, model)).as('size')])
    .execute()
  // At most `limit` records and `maxBytes` bytes; a larger first record comes alone.
  const bytes = sizes.slice(0, query.limit).map((r) => Number(r.size))
  const page = sizes.slice(0, pageLength(bytes, maxBytes))
  const found = await selectRecords(
    s,
    model,
    page.map((r) => r.id),
  )
  return { records: page.flatMap((r) => found.get(r.id) ?? []), more: sizes.length > page.length }
}
