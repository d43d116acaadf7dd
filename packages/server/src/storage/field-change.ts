/**
 * How a field changed between the stored snapshot and the running definition, and how its
 * stored values convert. A change that only widens (a longer max length, appended enum values,
 * a field becoming nullable, new merge policy or description) keeps every value valid and
 * needs no data change; any other change is checked value by value.
 */
import { checkFieldValue, type FieldSpec } from '@pulse/core'
import { type FieldSnapshot, sameSnapshot, snapshotField } from './schema-snapshot.ts'

/** What a changed field needs: nothing, a new pulse_schema row only, or its values converted. */
export type FieldChange = 'none' | 'metadata' | 'convert'

function widensBound(oldBound: number | undefined, next: number | undefined, lower: boolean): boolean {
  if (next === undefined) return true
  if (oldBound === undefined) return false
  return lower ? next <= oldBound : next >= oldBound
}

/** True when every value valid under `old` is valid, unchanged, under `next`. */
export function onlyWidens(old: FieldSnapshot, next: FieldSpec): boolean {
  if (old.kind !== next.kind) return false
  if (old.nullable && !next.nullable) return false
  switch (next.kind) {
    case 'string':
      return widensBound(old.maxLength, next.maxLength, false)
    case 'integer':
      return widensBound(old.min, next.min, true) && widensBound(old.max, next.max, false)
    case 'decimal':
      // A new scale rewrites the canonical text ("12.5" pads to "12.500"): convert.
      return old.precision === next.precision && old.scale === next.scale
    case 'enum':
      return (old.values ?? []).every((v) => next.values?.includes(v))
    default:
      return true
  }
}

/** Classifies the change of one field; `sameColumnType` says whether its SQL type is unchanged. */
export function classifyFieldChange(old: FieldSnapshot, next: FieldSpec, sameColumnType: boolean): FieldChange {
  if (sameSnapshot(old, snapshotField(next))) return 'none'
  return sameColumnType && onlyWidens(old, next) ? 'metadata' : 'convert'
}

/** A line for a person saying what changed, e.g. `string → integer, max length 100 → 255`. */
export function describeFieldChange(old: FieldSnapshot, next: FieldSpec): string {
  const now = snapshotField(next)
  const parts: string[] = []
  if (old.kind !== now.kind) parts.push(`${old.kind} → ${now.kind}`)
  const keys = ['nullable', 'required', 'maxLength', 'min', 'max', 'precision', 'scale', 'values', 'model', 'default', 'merge'] as const
  for (const key of keys) {
    const [a, b] = [old[key], now[key]]
    const show = (v: unknown): string => (v === undefined ? 'none' : JSON.stringify(v))
    if (!sameSnapshot(a ?? null, b ?? null)) parts.push(`${key} ${show(a)} → ${show(b)}`)
  }
  if (old.defaultFunction !== now.defaultFunction)
    parts.push(now.defaultFunction ? 'default is now a function' : 'default no longer a function')
  if (old.description !== now.description) parts.push('description')
  return parts.join(', ')
}

const INTEGER_TEXT = /^[+-]?\d+$/

// Moves a value of another kind towards `kind`, where that keeps its meaning; checkFieldValue
// then decides whether the result is valid.
function coerce(kind: FieldSpec['kind'], value: unknown): unknown {
  if (value === null) return null
  switch (kind) {
    case 'string':
    case 'text':
      if (typeof value === 'string') return value
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value)
    case 'integer':
      return typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value
    case 'decimal':
      return typeof value === 'number' ? String(value) : value
    case 'datetime':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00.000Z` : value
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value
    default:
      return value
  }
}

/** A stored value converted to the new definition; `lossy` when its information is lost. */
export interface Converted {
  readonly value: unknown
  readonly lossy: boolean
}

/**
 * Converts one stored value (canonical under the old definition) to the new one. A value that
 * does not fit is lost: a too-long string is truncated, anything else becomes the new static
 * default, or null. A NULL that a non-nullable field with a default no longer allows takes the
 * default without counting as lost.
 */
export function convertValue(next: FieldSpec, value: unknown): Converted {
  const checked = checkFieldValue(next, coerce(next.kind, value))
  if (checked.ok) return { value: checked.value, lossy: false }
  const fallback = typeof next.default === 'function' || next.default === undefined ? null : checkFieldValue(next, next.default)
  const byDefault = fallback?.ok ? fallback.value : null
  if (value === null) return { value: byDefault, lossy: false }
  if ((next.kind === 'string' || next.kind === 'text') && typeof value === 'string' && next.maxLength !== undefined) {
    const cut = checkFieldValue(next, [...value].slice(0, next.maxLength).join(''))
    if (cut.ok) return { value: cut.value, lossy: true }
  }
  return { value: byDefault, lossy: true }
}
