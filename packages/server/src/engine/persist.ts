/**
 * `persist`: writes a batch's decisions through its transaction — conflicts settled and
 * opened, each record's final state (inserted or replaced), history, then the change order —
 * and returns the committed changes for listeners. It decides nothing: `decide` did.
 */
import type { Conflict, ModelDefinition } from '@pulse/core'
import type { ChangeEntry, HistoryEntry, StorageTx, StoredRecord } from '../storage/storage.ts'
import type { Decision } from './decision.ts'
import { type RecordScope, scopeOf } from './scope.ts'

/** A committed change, as listeners (the bus, live streams) receive it. */
export interface CommittedChange {
  model: ModelDefinition
  record: StoredRecord
  /** Position in the change order. */
  seq: number
  /**
   * Set on a removal (§8): the record left the scope named here (its earlier owner or
   * organization); readers there drop it. The record's own entry follows with its new scope.
   */
  removedFrom?: RecordScope
}

/** A record's net change over the batch: its state before the first op that changed it, and after the last. */
interface NetChange {
  model: ModelDefinition
  before: StoredRecord | undefined
  after: StoredRecord
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/**
 * Writes the decisions of one batch, in order, inside `tx`: a record changed by several ops is
 * written once, in its final state, and gets one change-order entry, plus a removal entry when
 * the batch moved it to another owner or organization (§8). Refusals write nothing. Returns the
 * committed changes with their positions (none when no record changed).
 */
export async function persist(decisions: readonly Decision[], tx: StorageTx): Promise<CommittedChange[]> {
  const net = new Map<string, NetChange>()
  const history: HistoryEntry[] = []
  const opened: Conflict[] = []
  for (const d of decisions) {
    if (!d.ok) continue
    if (d.conflict && d.conflictWrite === 'update') await tx.updateConflict(d.conflict)
    if (d.conflict && d.conflictWrite === 'insert') opened.push(d.conflict)
    const change = d.change
    if (!change) continue
    const key = `${change.model.name}\u0000${change.after.id}`
    const seen = net.get(key)
    net.set(key, { model: change.model, before: seen ? seen.before : change.before, after: change.after })
    if (change.history) history.push(change.history)
  }
  if (opened.length > 0) await tx.insertConflicts(opened)
  if (net.size === 0) return []

  const inserts = new Map<ModelDefinition, StoredRecord[]>()
  const updates = new Map<ModelDefinition, StoredRecord[]>()
  const changed: Omit<CommittedChange, 'seq'>[] = []
  for (const { model, before, after } of net.values()) {
    push(before ? updates : inserts, model, after)
    if (before) {
      // §8: a record moved to another owner or organization reaches its old scope as a removal.
      const was = scopeOf(model, before.values)
      const now = scopeOf(model, after.values)
      if (was.ownerId !== now.ownerId || was.orgId !== now.orgId) changed.push({ model, record: before, removedFrom: was })
    }
    changed.push({ model, record: after })
  }
  for (const [model, list] of inserts) await tx.insertRecords(model, list)
  for (const [model, list] of updates) await tx.updateRecords(model, list)
  if (history.length > 0) await tx.appendHistory(history)
  const entries: ChangeEntry[] = changed.map(({ model, record, removedFrom }) => ({
    model: model.name,
    recordId: record.id,
    version: record.version,
    ...(removedFrom ?? scopeOf(model, record.values)),
    deleted: record.deletedAt !== null,
    ...(removedFrom ? { removed: true } : {}),
  }))
  // §2: the change order is appended last, so positions become visible in commit order.
  const seqs = await tx.appendChanges(entries)
  return changed.map((c, i) => ({ ...c, seq: seqs[i] ?? 0 }))
}
