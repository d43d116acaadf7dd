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
import type { SqlDialect } from './dialect.ts'
import { quoteIdent } from './naming.ts'

/** Bytes a record costs beyond its values: id, version, timestamps, punctuation. */
export const RECORD_OVERHEAD_BYTES = 200
/** Bytes a fixed-width value (number, boolean, date, id) costs at most, with its quotes. */
const FIXED_VALUE_BYTES = 40
/** What a NULL costs on the wire. */
const NULL_BYTES = 4

const VARIABLE: ReadonlySet<FieldKind> = new Set(['string', 'text', 'json', 'set', 'decimal'])

/** SQL (no parameters) computing the estimated wire size of a row of `model`, in bytes. */
export function recordSizeSql(dialect: SqlDialect, model: ModelDefinition): string {
  const bytes = (column: string) => `COALESCE(${dialect.byteLength(quoteIdent(column))}, ${NULL_BYTES})`
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
