/**
 * Local queries: where (equality, comparisons, `in`, `ne`), orderBy, limit,
 * over the live records of one model. Values compare in their field's natural order (core's
 * `compareFieldValues`: decimals exactly, dates chronologically, enums in declared order);
 * ties fall back to the id, so results have one stable order.
 */
import { compareFieldValues, type FieldSpec, type ModelDefinition, PulseError, SYSTEM_FIELDS } from '@pulse/core'
import type { LocalRecord } from './local-record.ts'

/** Comparisons of one field. A record whose value is null or absent fails gt/gte/lt/lte. */
export interface Comparison<T> {
  eq?: T
  ne?: T
  gt?: T
  gte?: T
  lt?: T
  lte?: T
  in?: readonly T[]
}

/** A field's condition: a value (equality) or comparisons. */
export type Condition<T> = T | Comparison<T>

/** Conditions on fields, all of which must hold. */
export type Where<R> = { [K in keyof R]?: Condition<R[K]> }

/** A sort key: a field (ascending), or a field and a direction. */
export type OrderKey<R> = (keyof R & string) | { field: keyof R & string; direction?: 'asc' | 'desc' }

/** A query over one model's records. */
export interface Query<R = Record<string, unknown>> {
  where?: Where<R>
  orderBy?: OrderKey<R> | readonly OrderKey<R>[]
  /** At most this many results. */
  limit?: number
}

/** A query ready to run. */
export interface CompiledQuery {
  matches(record: LocalRecord): boolean
  compare(a: LocalRecord, b: LocalRecord): number
  readonly limit: number | undefined
}

const OPERATORS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in'])
const QUERYABLE_SYSTEM: ReadonlySet<string> = new Set([...SYSTEM_FIELDS, 'localOnly'])

function isComparison(value: unknown): value is Comparison<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const keys = Object.keys(value)
  return keys.length > 0 && keys.every((k) => OPERATORS.has(k))
}

function compareValues(spec: FieldSpec | undefined, a: unknown, b: unknown): number {
  if (spec) return compareFieldValues(spec, a, b)
  if (a === b) return 0
  if (a === null || a === undefined) return -1
  if (b === null || b === undefined) return 1
  return (a as string | number) < (b as string | number) ? -1 : (a as string | number) > (b as string | number) ? 1 : 0
}

function equalValues(spec: FieldSpec | undefined, a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b)
  return compareValues(spec, a, b) === 0
}

function fieldSpec(model: ModelDefinition, field: string): FieldSpec | undefined {
  const spec = model.specs.get(field)
  if (!spec && !QUERYABLE_SYSTEM.has(field)) throw new PulseError('bad_request', `model "${model.name}" has no field "${field}" to query`)
  return spec
}

function test(spec: FieldSpec | undefined, value: unknown, condition: unknown): boolean {
  if (!isComparison(condition)) return equalValues(spec, value, condition)
  const c = condition
  if ('eq' in c && !equalValues(spec, value, c.eq)) return false
  if ('ne' in c && equalValues(spec, value, c.ne)) return false
  if (c.in !== undefined && !c.in.some((v) => equalValues(spec, value, v))) return false
  const ordered = value !== null && value !== undefined
  if (c.gt !== undefined && !(ordered && compareValues(spec, value, c.gt) > 0)) return false
  if (c.gte !== undefined && !(ordered && compareValues(spec, value, c.gte) >= 0)) return false
  if (c.lt !== undefined && !(ordered && compareValues(spec, value, c.lt) < 0)) return false
  if (c.lte !== undefined && !(ordered && compareValues(spec, value, c.lte) <= 0)) return false
  return true
}

/** Checks a query against the model and prepares it. Throws `bad_request` for unknown fields or a bad limit. */
export function compileQuery<R>(model: ModelDefinition, query: Query<R> = {}): CompiledQuery {
  const conditions = Object.entries(query.where ?? {}).map(([field, condition]) => ({ field, spec: fieldSpec(model, field), condition }))
  const keys = query.orderBy === undefined ? [] : Array.isArray(query.orderBy) ? query.orderBy : [query.orderBy]
  const order = (keys as readonly OrderKey<R>[]).map((key) => {
    const field = typeof key === 'string' ? key : key.field
    const sign = typeof key === 'object' && key.direction === 'desc' ? -1 : 1
    return { field, spec: fieldSpec(model, field), sign }
  })
  const { limit } = query
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new PulseError('bad_request', 'limit is a non-negative integer')
  return {
    limit,
    matches(record) {
      if (record.deletedAt !== null) return false
      for (const { field, spec, condition } of conditions) {
        if (condition !== undefined && !test(spec, record[field], condition)) return false
      }
      return true
    },
    compare(a, b) {
      for (const { field, spec, sign } of order) {
        const c = compareValues(spec, a[field], b[field])
        if (c !== 0) return c * sign
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    },
  }
}

/** Runs a compiled query over records. */
export function runQuery(compiled: CompiledQuery, records: Iterable<LocalRecord>): LocalRecord[] {
  const out: LocalRecord[] = []
  for (const record of records) if (compiled.matches(record)) out.push(record)
  out.sort(compiled.compare)
  return compiled.limit === undefined ? out : out.slice(0, compiled.limit)
}
