/**
 * Decoding of a list request's query string (PROTOCOL.md §10): `limit`, `cursor`, `orderBy`
 * (`field` or `-field`), and `<field>=<value>` equality filters, each value parsed by the
 * field's kind. Every problem is reported at once.
 */
import { checkFieldValue, type FieldIssue, isUuid, type ModelDefinition, PulseError } from '@pulse/core'
import type { ListRequest } from '../engine/engine.ts'
import type { ListOrder } from '../storage/storage.ts'
import { filterableFields } from './model-schema.ts'

/** Records a page holds unless `limit` says otherwise, and the most it may ask for. */
export const DEFAULT_LIST_LIMIT = 50
export const MAX_LIST_LIMIT = 1000

interface CursorPayload {
  o: string
  v: unknown
  id: string
}

/** Encodes where the next page starts as an opaque string. */
export function encodeListCursor(orderBy: ListOrder, after: { value: unknown; id: string }): string {
  const payload: CursorPayload = { o: `${orderBy.direction === 'desc' ? '-' : ''}${orderBy.field}`, v: after.value, id: after.id }
  return Buffer.from(JSON.stringify(payload)).toString('base64url')
}

function decodeListCursor(text: string): CursorPayload | undefined {
  try {
    const p = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown
    if (typeof p === 'object' && p !== null && typeof (p as CursorPayload).o === 'string' && typeof (p as CursorPayload).id === 'string') {
      return p as CursorPayload
    }
  } catch {
    // falls through: reported as an invalid cursor
  }
  return undefined
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/

/**
 * Whether a decoded cursor can be one this server handed out for ordering by `field`: its id a
 * UUID, its value null or of the field's type. A forged one (an object, an array, a boolean
 * where a time goes) would otherwise reach the database as a comparison it cannot make.
 */
function cursorFits(model: ModelDefinition, field: string, cursor: CursorPayload): boolean {
  if (!isUuid(cursor.id)) return false
  const value = cursor.v
  if (value === null) return true
  if (field === 'createdAt' || field === 'updatedAt')
    return typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value))
  const spec = model.specs.get(field)
  return spec !== undefined && checkFieldValue(spec, value).ok
}

function parseOrder(model: ModelDefinition, text: string | undefined, issues: FieldIssue[]): ListOrder {
  if (text === undefined) return { field: 'createdAt', direction: 'asc' }
  const direction = text.startsWith('-') ? 'desc' : 'asc'
  const field = text.replace(/^[-+]/, '')
  const allowed = ['createdAt', 'updatedAt', ...filterableFields(model)]
  if (!allowed.includes(field)) {
    issues.push({ field: 'orderBy', code: 'invalid_choice', message: `order by one of: ${allowed.join(', ')} (prefix - for descending)` })
  }
  return { field, direction }
}

function parseFilter(model: ModelDefinition, name: string, raw: string, issues: FieldIssue[]): unknown {
  const spec = model.specs.get(name)
  if (!spec || spec.kind === 'json' || spec.kind === 'set') {
    issues.push({ field: name.slice(0, 64), code: 'unknown_filter', message: `filter by one of: ${filterableFields(model).join(', ')}` })
    return undefined
  }
  let value: unknown = raw
  if (raw === 'null' && spec.nullable) return null
  if (spec.kind === 'boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw
  if (spec.kind === 'integer' && /^-?\d{1,16}$/.test(raw)) value = Number(raw)
  const checked = checkFieldValue(spec, value)
  if (!checked.ok) {
    issues.push({ field: name, code: checked.code, message: checked.message })
    return undefined
  }
  return checked.value
}

/** Decodes a list request; throws `bad_request` listing every problem. */
export function parseListQuery(model: ModelDefinition, query: Record<string, unknown>): { request: ListRequest; orderBy: ListOrder } {
  const issues: FieldIssue[] = []
  // No prototype: a `__proto__` parameter stays a key (and is refused as an unknown filter).
  const single: Record<string, string> = Object.create(null)
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string') single[key] = value
    else issues.push({ field: key.slice(0, 64), code: 'repeated', message: 'give each parameter once' })
  }
  let limit = DEFAULT_LIST_LIMIT
  if (single.limit !== undefined) {
    limit = /^\d{1,5}$/.test(single.limit) ? Number(single.limit) : Number.NaN
    if (!(limit >= 1 && limit <= MAX_LIST_LIMIT))
      issues.push({ field: 'limit', code: 'out_of_range', message: `a whole number from 1 to ${MAX_LIST_LIMIT}` })
  }
  const orderBy = parseOrder(model, single.orderBy, issues)
  let after: ListRequest['after']
  if (single.cursor !== undefined) {
    const c = decodeListCursor(single.cursor)
    const order = `${orderBy.direction === 'desc' ? '-' : ''}${orderBy.field}`
    if (!c) issues.push({ field: 'cursor', code: 'invalid_cursor', message: 'not a cursor this server handed out' })
    else if (c.o !== order) issues.push({ field: 'cursor', code: 'invalid_cursor', message: 'the cursor belongs to another orderBy' })
    else if (!cursorFits(model, orderBy.field, c))
      issues.push({ field: 'cursor', code: 'invalid_cursor', message: 'not a cursor this server handed out' })
    else after = { value: c.v, id: c.id.toLowerCase() }
  }
  const where: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(single)) {
    if (name === 'limit' || name === 'cursor' || name === 'orderBy') continue
    const value = parseFilter(model, name, raw, issues)
    if (value !== undefined) where[name] = value
  }
  if (issues.length > 0) throw new PulseError('bad_request', 'the query string has problems', issues)
  return { request: { where, orderBy, limit, ...(after ? { after } : {}) }, orderBy }
}
