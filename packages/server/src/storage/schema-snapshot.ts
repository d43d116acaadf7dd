/**
 * The stored form of a model definition (`pulse_schema.definition`): the serialisable parts of
 * each FieldSpec. Migrations compare the stored snapshot with the running definition.
 */
import type { FieldKind, FieldSpec, ModelDefinition } from '@pulse/core'

/** The serialisable parts of a FieldSpec; a function default or merge is recorded as such. */
export interface FieldSnapshot {
  readonly kind: FieldKind
  readonly nullable: boolean
  readonly required: boolean
  /** A static default (absent when none, or when the default is a function). */
  readonly default?: unknown
  /** True when the default is a function, called per create. */
  readonly defaultFunction?: true
  /** A policy name, a policy with options, or `custom` for a merge function. */
  readonly merge: string | { readonly policy: string; readonly fallback?: string; readonly order?: readonly string[] }
  readonly description?: string
  readonly maxLength?: number
  readonly min?: number
  readonly max?: number
  readonly precision?: number
  readonly scale?: number
  readonly values?: readonly string[]
  readonly model?: string
}

/** The stored form of one model: its fields by name, in declaration order. */
export interface ModelSnapshot {
  readonly fields: Readonly<Record<string, FieldSnapshot>>
}

/** The snapshot of one field. */
export function snapshotField(spec: FieldSpec): FieldSnapshot {
  const merge = typeof spec.merge === 'function' ? 'custom' : spec.merge
  const out: Record<string, unknown> = { kind: spec.kind, nullable: spec.nullable, required: spec.required, merge }
  if (typeof spec.default === 'function') out.defaultFunction = true
  else if (spec.default !== undefined) out.default = spec.default
  for (const key of ['description', 'maxLength', 'min', 'max', 'precision', 'scale', 'values', 'model'] as const) {
    if (spec[key] !== undefined) out[key] = spec[key]
  }
  return out as unknown as FieldSnapshot
}

/** The snapshot of a model. */
export function snapshotModel(model: ModelDefinition): ModelSnapshot {
  const fields: Record<string, FieldSnapshot> = {}
  for (const [name, spec] of model.specs) fields[name] = snapshotField(spec)
  return { fields }
}

/** JSON with object keys sorted, so equal snapshots compare equal whatever the key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** True when two snapshots describe the same thing. */
export function sameSnapshot(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads a stored snapshot (already JSON-decoded); throws when it is not one. */
export function parseModelSnapshot(model: string, raw: unknown): ModelSnapshot {
  if (!isRecord(raw) || !isRecord(raw.fields)) throw new Error(`pulse_schema row for "${model}" is not a model snapshot`)
  for (const [name, field] of Object.entries(raw.fields)) {
    if (!isRecord(field) || typeof field.kind !== 'string') {
      throw new Error(`pulse_schema row for "${model}": field "${name}" is not a field snapshot`)
    }
  }
  return raw as unknown as ModelSnapshot
}
