/**
 * What the app sees of a record: the last server state with the record's pending mutations
 * applied on top, in `mid` order. Recomputing it from those two after every event (a local
 * edit, a pulled change, a push answer) is what rebases pending edits onto newer server states
 * and keeps an answer to an older mutation from overwriting a newer local edit.
 */
import { mergeClocks, type VectorClock, type WireRecord } from '@pulse/core'
import type { LocalRecord, SyncErrorInfo } from './local-record.ts'
import type { OutboxEntry } from './stores/local-store.ts'

/** An HLC `at` as an ISO timestamp with milliseconds, like the server's `updatedAt`. */
export function isoOfAt(at: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}/.test(at) ? `${at.slice(0, 23)}Z` : at
}

/**
 * The record shown for `base` (the server state, or undefined when the server has none yet)
 * under `pending` (oldest first). Undefined when there is nothing to show: no base and no
 * create among the pending mutations. The result is frozen: records are shared, never changed.
 */
export function composeRecord(
  base: WireRecord | undefined,
  pending: readonly OutboxEntry[],
  syncError: SyncErrorInfo | null,
): LocalRecord | undefined {
  let record: Record<string, unknown> | undefined = base
  let clock: VectorClock = base?.vclock ?? {}
  for (const { mutation: m } of pending) {
    const at = isoOfAt(m.at)
    if (m.op === 'create') {
      const start = record ?? { id: m.id, version: 0, createdAt: at }
      record = { ...start, ...m.data, updatedAt: at, deletedAt: null }
    } else if (record === undefined) {
      continue
    } else if (m.op === 'update') {
      record = { ...record, ...m.data, updatedAt: at }
    } else {
      record = { ...record, updatedAt: at, deletedAt: at }
    }
    clock = mergeClocks(clock, m.vclock)
  }
  if (record === undefined) return undefined
  const version = typeof record.version === 'number' ? record.version : 0
  return Object.freeze({ ...record, vclock: clock, localOnly: pending.length > 0 || version === 0, syncError }) as LocalRecord
}
