/**
 * What one batch sees inside its transaction: the records its ops name, read once and locked,
 * as the batch's own earlier ops have left them, and the history those ops will write. The
 * write path reads through it before each `decide` and stages each decision in it, so an op sees
 * the ops before it; `persist` writes the decisions at the end.
 */
import type { ModelDefinition } from '@pulse/core'
import type { HistoryEntry, StorageTx, StoredRecord } from '../storage/storage.ts'
import type { RecordChange } from './decision.ts'
import type { PreparedOp } from './write-op.ts'

/** The records of one batch, read and staged. */
export interface BatchView {
  /** Reads every record the ops name, locked, in one read per model. */
  load(ops: readonly PreparedOp[]): Promise<void>
  /** The record's state now (as this batch has left it), read and locked first if the batch has not read it. */
  record(model: ModelDefinition, id: string): Promise<StoredRecord | undefined>
  /**
   * The record's history after `sinceVersion`, oldest first: the stored entries, then those of
   * this batch's earlier ops (not yet in the table).
   */
  history(model: ModelDefinition, id: string, sinceVersion: number): Promise<HistoryEntry[]>
  /** Takes in an op's change: later ops see its record and its history entry. */
  stage(change: RecordChange): void
}

const keyOf = (model: ModelDefinition, id: string): string => `${model.name}\u0000${id}`

/** The record ids the ops name, by model (resolutions and creates without an id name none). */
export function idsByModel(ops: readonly PreparedOp[]): Map<ModelDefinition, Set<string>> {
  const ids = new Map<ModelDefinition, Set<string>>()
  for (const op of ops) {
    if (op.kind === 'resolve' || op.id === undefined) continue
    let set = ids.get(op.model)
    if (!set) {
      set = new Set()
      ids.set(op.model, set)
    }
    set.add(op.id)
  }
  return ids
}

/** A view of the records of one batch over its transaction. */
export function createBatchView(tx: StorageTx): BatchView {
  /** Per record read: its state now (undefined: there is none). */
  const records = new Map<string, StoredRecord | undefined>()
  const staged: HistoryEntry[] = []

  return {
    async load(ops) {
      for (const [model, set] of idsByModel(ops)) {
        const found = await tx.getRecords(model, [...set])
        for (const id of set) records.set(keyOf(model, id), found.get(id))
      }
    },
    async record(model, id) {
      const key = keyOf(model, id)
      if (!records.has(key)) records.set(key, (await tx.getRecords(model, [id])).get(id))
      return records.get(key)
    },
    async history(model, id, sinceVersion) {
      const stored = await tx.listHistory(model, id, sinceVersion)
      const own = staged.filter((h) => h.model === model.name && h.recordId === id && h.version > sinceVersion)
      return [...stored, ...own]
    },
    stage(change) {
      records.set(keyOf(change.model, change.after.id), change.after)
      if (change.history) staged.push(change.history)
    },
  }
}
