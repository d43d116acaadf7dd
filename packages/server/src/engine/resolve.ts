/**
 * Conflict resolution for a synced edit (PROTOCOL.md §5): causality by vector clock, then,
 * for concurrent edits, per-field resolution of the contested fields by each field's policy.
 * Pure: `decide` calls it for synced updates.
 */
import { compareClocks, type ModelDefinition, resolveField, type VectorClock } from '@pulse/core'
import type { HistoryEntry, StoredRecord } from '../storage/storage.ts'
import { advanceClock, orderOfEdit, SERVER_CLOCK_ID } from './clock-rules.ts'
import { sameValue } from './records.ts'
import type { SyncEdit } from './write-op.ts'

/** Fields a person must settle: the base, local (client) and remote (server) values. */
export interface ManualFields {
  fields: string[]
  base: Record<string, unknown>
  local: Record<string, unknown>
  remote: Record<string, unknown>
}

/** What to do with a synced update. */
export type UpdateResolution =
  | { kind: 'stale' }
  | {
      kind: 'apply'
      status: 'applied' | 'merged' | 'conflict'
      /** The field values to write (only those that differ from the server's are changes). */
      values: Record<string, unknown>
      vclock: VectorClock
      manual: ManualFields | undefined
    }

/** The server side of a contested field: its value at `baseVersion`, and who last changed it when. */
interface FieldHistory {
  base: unknown
  at: string
  deviceId: string
}

/**
 * Reads, from the record's history since `baseVersion`, the base value of each field and the
 * time and device of the server's last change to it. Without history (a model with
 * `history: false`), the base is unknown and the record's `updatedAt` stands for the time.
 */
function fieldHistories(history: readonly HistoryEntry[], baseVersion: number): Map<string, FieldHistory> {
  const out = new Map<string, FieldHistory>()
  for (const entry of history) {
    if (entry.version <= baseVersion) continue
    for (const [field, change] of Object.entries(entry.changes)) {
      const seen = out.get(field)
      // Entries come oldest first: the first one's `old` is the base, the last one's time wins.
      out.set(field, { base: seen ? seen.base : change.old, at: entry.at, deviceId: entry.deviceId ?? SERVER_CLOCK_ID })
    }
  }
  return out
}

/** §5 contested fields: those in `data` the server changed after `baseVersion`, to another value. */
function contestedFields(existing: StoredRecord, data: Record<string, unknown>, baseVersion: number): string[] {
  return Object.keys(data).filter(
    // A field absent from the per-field versions was last set by the create, at version 1.
    (f) => (existing.fieldVersions[f] ?? 1) > baseVersion && !sameValue(existing.values[f], data[f]),
  )
}

/**
 * True when resolving this edit reads the record's history: the clocks are concurrent and a
 * field is contested. Most pushes follow the server's state and need no history read.
 */
export function needsHistory(existing: StoredRecord, data: Record<string, unknown>, edit: SyncEdit): boolean {
  return compareClocks(edit.vclock, existing.vclock) === 'CONCURRENT' && contestedFields(existing, data, edit.baseVersion ?? 0).length > 0
}

/**
 * Resolves a synced update of `existing` (a live record) carrying `data`. A clock claiming
 * changes the server never saw throws `clock_ahead`; EQUAL or BEFORE → stale; AFTER → apply as
 * sent; CONCURRENT → uncontested fields apply, each contested field (changed on the server
 * after `baseVersion`) is settled by its policy, and `manual` fields keep the server value and
 * are returned for a conflict. The new clock is the record's with the device's entry one up.
 */
export function resolveUpdate(
  model: ModelDefinition,
  existing: StoredRecord,
  data: Record<string, unknown>,
  edit: SyncEdit,
  history: readonly HistoryEntry[],
): UpdateResolution {
  const order = orderOfEdit(edit.vclock, existing.vclock, edit.deviceId)
  if (order === 'EQUAL' || order === 'BEFORE') return { kind: 'stale' }
  const vclock = advanceClock(existing.vclock, edit.deviceId)
  if (order === 'AFTER') return { kind: 'apply', status: 'applied', values: data, vclock, manual: undefined }

  const baseVersion = edit.baseVersion ?? 0
  const contested = contestedFields(existing, data, baseVersion)
  const histories = contested.length > 0 ? fieldHistories(history, baseVersion) : new Map<string, FieldHistory>()
  const values: Record<string, unknown> = { ...data }
  const manual: ManualFields = { fields: [], base: {}, local: {}, remote: {} }
  for (const field of contested) {
    const spec = model.specs.get(field)
    if (!spec) continue
    const h = histories.get(field) ?? { base: undefined, at: existing.updatedAt, deviceId: SERVER_CLOCK_ID }
    const server = existing.values[field]
    const outcome = resolveField(spec, {
      base: h.base,
      server,
      client: data[field],
      serverAt: h.at,
      clientAt: edit.at,
      serverDeviceId: h.deviceId,
      clientDeviceId: edit.deviceId,
      ctx: {
        model: model.name,
        field,
        recordId: existing.id,
        serverAt: h.at,
        clientAt: edit.at,
        serverDeviceId: h.deviceId,
        clientDeviceId: edit.deviceId,
      },
    })
    if ('manual' in outcome) {
      values[field] = server
      manual.fields.push(field)
      manual.base[field] = h.base ?? null
      manual.local[field] = data[field]
      manual.remote[field] = server
    } else {
      values[field] = outcome.value
    }
  }
  const hasManual = manual.fields.length > 0
  return { kind: 'apply', status: hasManual ? 'conflict' : 'merged', values, vclock, manual: hasManual ? manual : undefined }
}
