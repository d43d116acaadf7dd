/**
 * Field values between their canonical wire form (what `validateCreate` returns) and database
 * columns. The two databases differ in two ways only: SQLite has no boolean type (0/1), and
 * pg hands jsonb back already parsed while SQLite returns JSON text.
 */
import type { FieldSpec } from '@pulse/core'

/** How a dialect's driver represents the values that differ between databases. */
export interface ValueCodec {
  /** Booleans are stored as 0/1 (SQLite). */
  readonly booleanAsInteger: boolean
  /** The driver parses JSON columns itself (pg with jsonb). */
  readonly jsonParsedByDriver: boolean
}

/** Encodes a JSON column value; the drivers get text (pg would turn arrays into SQL arrays). */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value)
}

/** Decodes a JSON column value as the driver returned it. */
export function decodeJson(codec: ValueCodec, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null
  return codec.jsonParsedByDriver || typeof raw !== 'string' ? raw : JSON.parse(raw)
}

/** A canonical field value as a query parameter. `null` and `undefined` become SQL NULL. */
export function encodeValue(codec: ValueCodec, spec: Pick<FieldSpec, 'kind'>, value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (spec.kind) {
    case 'boolean':
      return codec.booleanAsInteger ? (value ? 1 : 0) : value === true
    case 'json':
    case 'set':
      return encodeJson(value)
    default:
      // Strings (text kinds, decimals, dates, datetimes) and integers go as they are.
      return value
  }
}

/** A column value as the driver returned it, back to its canonical wire form. */
export function decodeValue(codec: ValueCodec, spec: Pick<FieldSpec, 'kind'>, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null
  switch (spec.kind) {
    case 'boolean':
      return raw === true || raw === 1 || raw === 1n
    case 'integer':
      return typeof raw === 'number' ? raw : Number(raw)
    case 'json':
    case 'set':
      return decodeJson(codec, raw)
    default:
      return typeof raw === 'string' ? raw : String(raw)
  }
}
