/**
 * Names of model tables, columns and indexes, and the one place identifiers are quoted. A
 * model's table is named exactly as the model and each field's column exactly as the field;
 * every identifier reaches SQL quoted, never spliced raw.
 */
import { type FieldSpec, type ModelDefinition, PulseError } from '@pulse/core'
import { SYSTEM_COLUMNS } from './database.ts'

/** System columns a list may be ordered by (ListOrder). */
export const ORDERABLE_SYSTEM_COLUMNS: ReadonlySet<string> = new Set(['createdAt', 'updatedAt', 'id'])

/** Quotes an identifier for SQLite and PostgreSQL alike (`"a""b"`). */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) throw new PulseError('bad_request', 'an identifier may not be empty or contain NUL')
  return `"${name.replaceAll('"', '""')}"`
}

const columnCache = new WeakMap<ModelDefinition, readonly string[]>()

/** Every column of a model's table, in table order: system columns, then fields. */
export function recordColumns(model: ModelDefinition): readonly string[] {
  let columns = columnCache.get(model)
  if (!columns) {
    columns = [...SYSTEM_COLUMNS, ...model.specs.keys()]
    columnCache.set(model, columns)
  }
  return columns
}

// PostgreSQL truncates identifiers past 63 bytes, which could make two index names collide.
const MAX_IDENT = 63

function shortHash(text: string): string {
  // FNV-1a, 32 bits: enough to keep shortened index names apart.
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** The name of the index on `columns` of `table`: readable, unique, at most 63 characters. */
export function indexName(table: string, columns: readonly string[]): string {
  const name = `${table}__${columns.join('_')}_idx`
  return name.length <= MAX_IDENT ? name : `${name.slice(0, MAX_IDENT - 9)}_${shortHash(name)}`
}

/**
 * The spec of a model field named by a caller (a where or orderBy key). An unknown name is the
 * caller's bug: it is refused before any SQL is built.
 */
export function requireField(model: ModelDefinition, name: string, purpose: string): FieldSpec {
  const spec = model.specs.get(name)
  if (!spec) throw new PulseError('bad_request', `cannot ${purpose} "${name.slice(0, 64)}": model "${model.name}" has no such field`)
  return spec
}
