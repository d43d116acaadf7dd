/**
 * Validation of create and partial-update payloads against a model definition. Every problem
 * is reported at once (PROTOCOL.md §7 `details`); values come back in their canonical wire
 * form (decimals padded to their scale, datetimes in UTC, sets sorted and without repeats).
 */
import { type FieldIssue, PulseError } from './errors.ts'
import type { FieldSpec } from './fields.ts'
import { type ModelDefinition, SYSTEM_FIELDS } from './model.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
// ISO-8601 date-time with a time zone (Z or ±hh:mm), as Date.parse reads reliably.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/
/** Largest JSON text a `json` field may hold, in characters. */
export const MAX_JSON_FIELD_CHARS = 1_000_000
/** Most members a `set` field may hold. */
export const MAX_SET_SIZE = 10_000
/** Longest member of a `set` field, in characters. */
export const MAX_SET_MEMBER_LENGTH = 1_000

/** True when `value` is a UUID string (any version), the form of every record id. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

type Checked = { ok: true; value: unknown } | { ok: false; code: string; message: string }
const bad = (code: string, message: string): Checked => ({ ok: false, code, message })
const good = (value: unknown): Checked => ({ ok: true, value })

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function checkDecimal(spec: FieldSpec, value: unknown): Checked {
  const precision = spec.precision ?? 10
  const scale = spec.scale ?? 2
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof text !== 'string') return bad('wrong_type', `expected a decimal string such as "12.50", got ${typeName(value)}`)
  const m = DECIMAL.exec(text)
  if (!m) return bad('invalid_decimal', `"${text.slice(0, 40)}" is not a decimal number`)
  const [, sign, intPartRaw = '', fracRaw = ''] = m
  const intPart = intPartRaw.replace(/^0+(?=\d)/, '')
  if (fracRaw.length > scale) return bad('too_many_decimals', `at most ${scale} digits after the point`)
  if (intPart.length > precision - scale) {
    return bad('out_of_range', `at most ${precision - scale} digits before the point (decimal(${precision},${scale}))`)
  }
  const frac = fracRaw.padEnd(scale, '0')
  const isZero = /^0*$/.test(intPart + frac)
  return good(`${sign === '-' && !isZero ? '-' : ''}${intPart}${scale > 0 ? `.${frac}` : ''}`)
}

function checkDate(value: unknown): Checked {
  if (typeof value !== 'string') return bad('wrong_type', `expected a date "YYYY-MM-DD", got ${typeName(value)}`)
  const m = DATE.exec(value)
  if (!m) return bad('invalid_date', 'expected a date "YYYY-MM-DD"')
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const t = new Date(Date.UTC(y, mo - 1, d))
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) {
    return bad('invalid_date', `${value} is not a calendar date`)
  }
  return good(value)
}

function checkDatetime(value: unknown): Checked {
  if (typeof value !== 'string') return bad('wrong_type', `expected an ISO-8601 date-time string, got ${typeName(value)}`)
  if (!DATETIME.test(value)) return bad('invalid_datetime', 'expected an ISO-8601 date-time with a time zone, e.g. 2026-11-23T10:00:00Z')
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) return bad('invalid_datetime', `${value} is not a valid date-time`)
  const d = new Date(ms)
  if (d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) return bad('out_of_range', 'years 1 to 9999 only')
  return good(d.toISOString())
}

/**
 * Why a string cannot be stored, or undefined when it can: a NUL character (PostgreSQL's text
 * and jsonb cannot hold it) or a lone UTF-16 surrogate (no UTF-8 form: jsonb refuses it, text
 * columns would silently replace it). One rule for every database, so both behave alike.
 */
export function textProblem(value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 0) return 'may not contain the NUL character'
    if (c < 0xd800 || c > 0xdfff) continue
    // A high surrogate followed by a low one is one character; anything else is a lone half.
    if (c <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1
        continue
      }
    }
    return 'may not contain a lone UTF-16 surrogate (not valid Unicode text)'
  }
  return undefined
}

/** The first problem of any string or key inside a JSON value (walked without recursion). */
function jsonTextProblem(value: unknown): string | undefined {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') {
      const problem = textProblem(v)
      if (problem) return problem
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        const problem = textProblem(k)
        if (problem) return `keys ${problem}`
        stack.push(item)
      }
    }
  }
  return undefined
}

function checkJson(value: unknown): Checked {
  let text: string
  try {
    text = JSON.stringify(value)
  } catch {
    return bad('invalid_json', 'not representable as JSON')
  }
  if (text === undefined) return bad('invalid_json', 'not representable as JSON')
  if (text.length > MAX_JSON_FIELD_CHARS) return bad('too_long', `at most ${MAX_JSON_FIELD_CHARS} characters of JSON`)
  // PostgreSQL's jsonb cannot hold NUL or lone surrogates, and no text field may either: refuse
  // them everywhere alike. JSON.stringify escapes both, so clean text skips the walk.
  if (text.includes('\\u')) {
    const problem = jsonTextProblem(value)
    if (problem) return bad('invalid_character', problem)
  }
  return good(JSON.parse(text))
}

function checkSet(value: unknown): Checked {
  if (!Array.isArray(value)) return bad('wrong_type', `expected an array of strings, got ${typeName(value)}`)
  if (value.length > MAX_SET_SIZE) return bad('too_many', `at most ${MAX_SET_SIZE} members`)
  for (const member of value) {
    if (typeof member !== 'string') return bad('wrong_type', `every member must be a string, got ${typeName(member)}`)
    if (member.length > MAX_SET_MEMBER_LENGTH) return bad('too_long', `members are at most ${MAX_SET_MEMBER_LENGTH} characters`)
    const problem = textProblem(member)
    if (problem) return bad('invalid_character', `members ${problem}`)
  }
  return good(normalizeSet(value as string[]))
}

/** The canonical form of a set: sorted by code unit, without repeats. */
export function normalizeSet(members: readonly string[]): string[] {
  return [...new Set(members)].sort()
}

/** Checks one value against one field; returns the canonical value or the problem. */
export function checkFieldValue(spec: FieldSpec, value: unknown): Checked {
  if (value === null) return spec.nullable ? good(null) : bad('not_nullable', 'may not be null')
  if (value === undefined) return bad('required', 'is required')
  switch (spec.kind) {
    case 'string':
    case 'text': {
      if (typeof value !== 'string') return bad('wrong_type', `expected a string, got ${typeName(value)}`)
      if (spec.kind === 'string' && spec.maxLength !== undefined && [...value].length > spec.maxLength) {
        return bad('too_long', `at most ${spec.maxLength} characters`)
      }
      const problem = textProblem(value)
      if (problem) return bad('invalid_character', problem)
      return good(value)
    }
    case 'boolean':
      return typeof value === 'boolean' ? good(value) : bad('wrong_type', `expected a boolean, got ${typeName(value)}`)
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad('wrong_type', `expected an integer, got ${typeName(value)}`)
      if (!Number.isSafeInteger(value)) return bad('out_of_range', 'outside the safe integer range')
      if (spec.min !== undefined && value < spec.min) return bad('out_of_range', `at least ${spec.min}`)
      if (spec.max !== undefined && value > spec.max) return bad('out_of_range', `at most ${spec.max}`)
      return good(value)
    }
    case 'decimal':
      return checkDecimal(spec, value)
    case 'datetime':
      return checkDatetime(value)
    case 'date':
      return checkDate(value)
    case 'enum':
      return typeof value === 'string' && spec.values?.includes(value)
        ? good(value)
        : bad('invalid_choice', `expected one of: ${spec.values?.join(', ')}`)
    case 'json':
      return checkJson(value)
    case 'set':
      return checkSet(value)
    case 'ref':
    case 'owner':
    case 'org':
      return isUuid(value) ? good(value.toLowerCase()) : bad('invalid_id', 'expected a UUID')
  }
}

/**
 * Refuses a mutation's vector clock whose device ids hold a NUL or a lone surrogate (see
 * `textProblem`): `validation_failed` on field `vclock`, so a push refuses that mutation alone.
 */
export function checkClockText(clock: Readonly<Record<string, number>>): void {
  for (const key of Object.keys(clock)) {
    const problem = textProblem(key)
    if (problem) {
      throw new PulseError('validation_failed', `a device id in the vector clock ${problem}`, [
        { field: 'vclock', code: 'invalid_character', message: `device ids ${problem}` },
      ])
    }
  }
}

/** The default value of a field for a create that left it out, or `undefined` when none. */
export function defaultValue(spec: FieldSpec): unknown {
  const d = spec.default
  if (typeof d === 'function') return (d as () => unknown)()
  if (d !== undefined) return d
  return spec.nullable ? null : undefined
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const SYSTEM: ReadonlySet<string> = new Set(SYSTEM_FIELDS)

function checkKeys(model: ModelDefinition, input: Record<string, unknown>, issues: FieldIssue[], allowId: boolean): void {
  for (const key of Object.keys(input)) {
    if (model.specs.has(key)) continue
    if (key === 'id' && allowId) continue
    if (SYSTEM.has(key)) issues.push({ field: key, code: 'read_only', message: `"${key}" is set by the server` })
    else issues.push({ field: key, code: 'unknown_field', message: `model "${model.name}" has no field "${key.slice(0, 64)}"` })
  }
}

function fail(model: ModelDefinition, issues: FieldIssue[]): never {
  const n = issues.length
  throw new PulseError('validation_failed', `${n} problem${n === 1 ? '' : 's'} with the ${model.name}`, issues)
}

/**
 * Validates a create payload: checks every given field, fills defaults, and lists every
 * missing required field. Owner and organization fields may be absent (the engine fills them
 * from the caller). Throws `validation_failed` with every problem; returns the canonical values
 * (and `id` when the payload named one).
 */
export function validateCreate(model: ModelDefinition, input: unknown): { id?: string; values: Record<string, unknown> } {
  if (!isPlainObject(input)) {
    throw new PulseError('validation_failed', `a ${model.name} must be a JSON object`, [
      { code: 'wrong_type', message: `expected an object, got ${typeName(input)}` },
    ])
  }
  const issues: FieldIssue[] = []
  checkKeys(model, input, issues, true)
  let id: string | undefined
  if (input.id !== undefined) {
    if (isUuid(input.id)) id = input.id.toLowerCase()
    else issues.push({ field: 'id', code: 'invalid_id', message: 'expected a UUID' })
  }
  const values: Record<string, unknown> = {}
  for (const [name, spec] of model.specs) {
    const given = Object.hasOwn(input, name) ? input[name] : undefined
    if (given === undefined) {
      const d = defaultValue(spec)
      if (d !== undefined && !spec.required) {
        const checked = checkFieldValue(spec, d)
        if (checked.ok) values[name] = checked.value
        else issues.push({ field: name, code: 'invalid_default', message: `the default ${checked.message}` })
      } else if (spec.kind !== 'owner' && spec.kind !== 'org') {
        issues.push({ field: name, code: 'required', message: 'is required' })
      }
      continue
    }
    const checked = checkFieldValue(spec, given)
    if (checked.ok) values[name] = checked.value
    else issues.push({ field: name, code: checked.code, message: checked.message })
  }
  if (issues.length > 0) fail(model, issues)
  return id === undefined ? { values } : { id, values }
}

/**
 * Validates a partial update: only the given fields, each checked; at least one field.
 * Throws `validation_failed` with every problem; returns the canonical changed values.
 */
export function validateUpdate(model: ModelDefinition, input: unknown): Record<string, unknown> {
  if (!isPlainObject(input)) {
    throw new PulseError('validation_failed', `an update of a ${model.name} must be a JSON object`, [
      { code: 'wrong_type', message: `expected an object, got ${typeName(input)}` },
    ])
  }
  const issues: FieldIssue[] = []
  checkKeys(model, input, issues, false)
  const values: Record<string, unknown> = {}
  for (const [name, spec] of model.specs) {
    if (!Object.hasOwn(input, name)) continue
    const checked = checkFieldValue(spec, input[name])
    if (checked.ok) values[name] = checked.value
    else issues.push({ field: name, code: checked.code, message: checked.message })
  }
  if (issues.length === 0 && Object.keys(values).length === 0 && Object.keys(input).length === 0) {
    issues.push({ code: 'empty_update', message: 'name at least one field to change' })
  }
  if (issues.length > 0) fail(model, issues)
  return values
}
