/**
 * Field values between their canonical wire form (what `validateCreate` returns) and database
 * columns. Both drivers hand JSON back as text and take booleans as booleans (the SQLite
 * connection binds them as 0/1); booleans read back as 0/1 on SQLite.
 */
import type { FieldSpec } from '@pulse/core'

/** Encodes a JSON column value; the drivers get text (pg would turn arrays into SQL arrays). */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value)
}

/** Decodes a JSON column value as the driver returned it. */
export function decodeJson(raw: unknown): unknown {
  if (raw === null || raw === undefined) return null
  return typeof raw === 'string' ? JSON.parse(raw) : raw
}

/** A canonical field value as a query parameter. `null` and `undefined` become SQL NULL. */
export function encodeValue(spec: Pick<FieldSpec, 'kind'>, value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (spec.kind) {
    case 'boolean':
      return value === true
    case 'json':
    case 'set':
      return encodeJson(value)
    default:
      // Strings (text kinds, decimals, dates, datetimes) and integers go as they are.
      return value
  }
}

/** A column value as the driver returned it, back to its canonical wire form. */
export function decodeValue(spec: Pick<FieldSpec, 'kind'>, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null
  switch (spec.kind) {
    case 'boolean':
      return raw === true || raw === 1 || raw === 1n
    case 'integer':
      return typeof raw === 'number' ? raw : Number(raw)
    case 'json':
    case 'set':
      return decodeJson(raw)
    default:
      return typeof raw === 'string' ? raw : String(raw)
  }
}
