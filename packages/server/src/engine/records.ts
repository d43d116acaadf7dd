/** Conversions between stored records and wire records, and value comparison. */
import type { WireRecord } from '@pulse/core'
import type { StoredRecord } from '../storage/storage.ts'

/** The wire form of a stored record (PROTOCOL.md §1): system fields then model fields. */
export function toWire(record: StoredRecord): WireRecord {
  return {
    id: record.id,
    version: record.version,
    vclock: record.vclock,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    deletedAt: record.deletedAt,
    ...record.values,
  }
}

/** Structural equality of canonical JSON values (objects compared key by key, any order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]))
  }
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  const bo = b as Record<string, unknown>
  const ao = a as Record<string, unknown>
  return ka.every((k) => Object.hasOwn(bo, k) && sameValue(ao[k], bo[k]))
}
