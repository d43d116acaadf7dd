/**
 * Settles one contested field of a concurrent edit by the field's merge policy
 * (PROTOCOL.md §5). Pure: it decides a value (or that a person must), the engine applies it.
 */
import { compareFieldValues, isOrderedValue } from './field-order.ts'
import type { FieldSpec, MergeContext, MergePolicyName } from './fields.ts'
import { compareHlc } from './hlc.ts'
import { mergeSets } from './merge-set.ts'
import { mergeText } from './merge-text.ts'

/** The two concurrent values of one field, the value both started from, and who wrote each when. */
export interface FieldConflict {
  /** The value at the edit's `baseVersion`; `undefined` when unknown (no history kept). */
  readonly base: unknown
  /** The server's current value. */
  readonly server: unknown
  /** The incoming edit's value. */
  readonly client: unknown
  /** HLC `at` of the server's last change to the field and of the incoming edit. */
  readonly serverAt: string
  readonly clientAt: string
  readonly serverDeviceId: string
  readonly clientDeviceId: string
  /** Passed to a custom merge function. */
  readonly ctx: MergeContext
}

/** The outcome for one field: the value to keep, or `manual` (keep the server's, open a conflict). */
export type FieldResolution = { readonly value: unknown } | { readonly manual: true }

/**
 * Settles one field by its policy:
 *
 * - `lww`: the later `at` (HLC order) wins; equal `at`: the larger device id (code unit order);
 *   equal both: the value with the larger canonical JSON, so the choice never depends on
 *   which side is which.
 * - `serverWins` / `clientWins`: as named.
 * - `max` / `min`: the larger / smaller value in the field's order (see `compareFieldValues`).
 *   `null`, and any value without a place in the order, loses to every value for `max` and
 *   for `min` alike (a min due date is not erased by a side that cleared it). Ties (equal in
 *   the order, or neither ordered) go to `lww`.
 * - `union`: `mergeSets(base, server, client)`; `null` counts as the empty set, an unknown
 *   base too (then every member of either side is kept).
 * - `text`: `mergeText(base, server, client)` when all three are strings (a `null` base counts
 *   as empty text); on overlapping edits, a non-string side, an unknown base, or a merged
 *   `string` longer than the field's maximum, the `fallback` policy settles it (default `lww`).
 * - `state`: the value further along `merge.order` (or the enum's declared values) wins;
 *   values not in the order lose; ties go to `lww`.
 * - `manual`: `{ manual: true }`.
 * - a custom function: called as `(base, server, client, ctx)`, always; what it returns is
 *   the value, and what it throws reaches the caller.
 *
 * For every named policy, two sides that agree (equal as JSON) settle on that value without
 * a conflict.
 */
export function resolveField(spec: FieldSpec, input: FieldConflict): FieldResolution {
  const merge = spec.merge
  if (typeof merge === 'function') return { value: merge(input.base, input.server, input.client, input.ctx) }
  if (canonicalJson(input.server) === canonicalJson(input.client)) return { value: input.server }
  if (typeof merge === 'string') return byPolicy(merge, spec, input)
  if (merge.policy === 'text') {
    const merged = textMerge(spec, input)
    if (merged !== undefined) return { value: merged }
    // A hand-built `text` fallback cannot loop: byPolicy's `text` ends in lww.
    return byPolicy(merge.fallback ?? 'lww', spec, input)
  }
  return { value: stateMerge(merge.order ?? spec.values, input) }
}

function byPolicy(policy: MergePolicyName, spec: FieldSpec, input: FieldConflict): FieldResolution {
  switch (policy) {
    case 'lww':
      return { value: lastWriterWins(input) }
    case 'serverWins':
      return { value: input.server }
    case 'clientWins':
      return { value: input.client }
    case 'max':
      return { value: extreme(spec, input, 1) }
    case 'min':
      return { value: extreme(spec, input, -1) }
    case 'union':
      return { value: mergeSets(asSet(input.base), asSet(input.server), asSet(input.client)) }
    case 'text':
      return { value: textMerge(spec, input) ?? lastWriterWins(input) }
    case 'state':
      return { value: stateMerge(spec.values, input) }
    case 'manual':
      return { manual: true }
  }
}

function lastWriterWins(input: FieldConflict): unknown {
  const byTime = compareHlc(input.serverAt, input.clientAt)
  if (byTime !== 0) return byTime > 0 ? input.server : input.client
  if (input.serverDeviceId !== input.clientDeviceId) return input.serverDeviceId > input.clientDeviceId ? input.server : input.client
  // Same time, same device: only the values can decide, so swapping the sides changes nothing.
  return canonicalJson(input.server) >= canonicalJson(input.client) ? input.server : input.client
}

function extreme(spec: FieldSpec, input: FieldConflict, direction: 1 | -1): unknown {
  const serverOrdered = isOrderedValue(spec, input.server)
  const clientOrdered = isOrderedValue(spec, input.client)
  // Null and unordered values lose in both directions (documented on resolveField).
  if (serverOrdered !== clientOrdered) return serverOrdered ? input.server : input.client
  if (serverOrdered) {
    const cmp = compareFieldValues(spec, input.server, input.client)
    if (cmp !== 0) return cmp === direction ? input.server : input.client
  }
  return lastWriterWins(input)
}

function stateMerge(order: readonly string[] | undefined, input: FieldConflict): unknown {
  const rank = (value: unknown): number => (typeof value === 'string' && order ? order.indexOf(value) : -1)
  const serverRank = rank(input.server)
  const clientRank = rank(input.client)
  if (serverRank !== clientRank) return serverRank > clientRank ? input.server : input.client
  return lastWriterWins(input)
}

/** The merged text, or `undefined` when the text merge cannot settle the field. */
function textMerge(spec: FieldSpec, input: FieldConflict): string | undefined {
  const { base, server, client } = input
  if (typeof server !== 'string' || typeof client !== 'string') return undefined
  if (base !== null && typeof base !== 'string') return undefined
  const merged = mergeText(base ?? '', server, client)
  if (!merged.ok) return undefined
  if (spec.kind === 'string' && spec.maxLength !== undefined && [...merged.value].length > spec.maxLength) return undefined
  return merged.value
}

function asSet(value: unknown): string[] | null {
  return Array.isArray(value) ? value.filter((member): member is string => typeof member === 'string') : null
}

/** JSON with object keys sorted, so equal values give equal text; `undefined` has its own text. */
function canonicalJson(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'undefined'
}
