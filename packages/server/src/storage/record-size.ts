/**
 * How big a record is on the wire, estimated by the database without reading its values into
 * Pulse: pages of pulls and lists are bounded in bytes (PROTOCOL.md §3, §10), and deciding where
 * a page ends must not first load what would not fit in it.
 *
 * The estimate is the stored size of every variable-width column (text, json, set, the vector
 * clock) plus a fixed cost per field and per record for names, quotes and the system fields. It
 * is close to the JSON size; only values full of characters JSON escapes come out larger.
 */
import type { FieldKind, ModelDefinition } from '@pulse/core'
import { quoteIdent } from './naming.ts'
import type { RecordPage, StoredRecord } from './storage.ts'

/** Bytes a record costs beyond its values: id, version, timestamps, punctuation. */
export const RECORD_OVERHEAD_BYTES = 200
/** Bytes a fixed-width value (number, boolean, date, id) costs at most, with its quotes. */
const FIXED_VALUE_BYTES = 40
/** What a NULL costs on the wire. */
const NULL_BYTES = 4

const VARIABLE: ReadonlySet<FieldKind> = new Set(['string', 'text', 'json', 'set', 'decimal'])

/** SQL (no parameters) computing the estimated wire size of a row of `model`, in bytes. */
export function recordSizeSql(dialect: 'sqlite' | 'postgres', model: ModelDefinition): string {
  // PostgreSQL's octet_length takes text (jsonb is rendered; text is measured without detoasting).
  // SQLite's measures text and blobs from the record header without reading them.
  const bytes = (column: string) =>
    dialect === 'postgres'
      ? `COALESCE(octet_length(${quoteIdent(column)}::text), ${NULL_BYTES})`
      : `COALESCE(octet_length(${quoteIdent(column)}), ${NULL_BYTES})`
  let fixed = RECORD_OVERHEAD_BYTES
  const parts = [bytes('vclock')]
  for (const [name, spec] of model.specs) {
    fixed += name.length + 4
    if (VARIABLE.has(spec.kind)) parts.push(bytes(name))
    else fixed += FIXED_VALUE_BYTES
  }
  return `(${fixed} + ${parts.join(' + ')})`
}

/** Where a page that may hold `maxBytes` ends: how many of `sizes` (in order) it takes, at least one. */
export function pageLength(sizes: readonly number[], maxBytes: number): number {
  let total = 0
  for (let i = 0; i < sizes.length; i++) {
    total += sizes[i] ?? 0
    // A record larger than the bound still goes, alone: every page makes progress.
    if (total > maxBytes && i > 0) return i
  }
  return sizes.length
}

/** A row of a sizes query: a record's `id` and estimated wire `size`. */
export type SizeRow = Readonly<Record<string, unknown>>

/** Sizes by id, from rows of `selectSizesByIds`. */
export function sizesById(rows: readonly SizeRow[]): Map<string, number> {
  return new Map(rows.map((r) => [String(r.id), Number(r.size)]))
}

/**
 * Where a list page ends (`Storage.listPage`): `rows` are the sizes of up to `limit + 1` records
 * in order; the page takes at most `limit` of them and no more bytes than `pageLength` allows.
 */
export function cutListPage(rows: readonly SizeRow[], limit: number, maxBytes: number): { ids: string[]; more: boolean } {
  const n = pageLength(
    rows.slice(0, limit).map((r) => Number(r.size)),
    maxBytes,
  )
  return { ids: rows.slice(0, n).map((r) => String(r.id)), more: rows.length > n }
}

/** The page of records named by `ids`, in that order (`found` holds them by id). */
export function recordPage(ids: readonly string[], found: ReadonlyMap<string, StoredRecord>, more: boolean): RecordPage {
  const records: StoredRecord[] = []
  for (const id of ids) {
    const record = found.get(id)
    if (record) records.push(record)
  }
  return { records, more }
}
