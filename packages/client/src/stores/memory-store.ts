/**
 * A local store in memory: nothing survives the process. For tests, for server-side use of the
 * client, and as the reference the other stores are checked against. Values are kept as JSON
 * text, so what comes out is a copy of what went in, as with a real database.
 */
import { throwIfAborted } from '../platform.ts'
import { createCallTracker } from './call-tracker.ts'
import type { JsonValue, LocalStore, OutboxEntry, StoreBatch, StoredRow } from './local-store.ts'

/** Creates an empty store in memory. `name` appears in error messages. */
export function createMemoryStore(name = 'memory'): LocalStore {
  const records = new Map<string, Map<string, string>>()
  const outbox = new Map<number, string>()
  const meta = new Map<string, string>()
  const calls = createCallTracker(name)

  function commit(batch: StoreBatch): void {
    // Serialise everything first: a value that cannot be stored fails the batch before any write.
    const rows = batch.records.map((w) => ({ ...w, text: w.row === null ? null : JSON.stringify(w.row) }))
    const entries = batch.outbox.map((w) => ({ mid: w.mid, text: w.entry === null ? null : JSON.stringify(w.entry) }))
    const values = batch.meta.map((w) => ({ key: w.key, text: w.value === null ? null : JSON.stringify(w.value) }))
    for (const { model, id, text } of rows) {
      let table = records.get(model)
      if (text === null) {
        table?.delete(id)
        continue
      }
      if (!table) {
        table = new Map()
        records.set(model, table)
      }
      table.set(id, text)
    }
    for (const { mid, text } of entries) {
      if (text === null) outbox.delete(mid)
      else outbox.set(mid, text)
    }
    for (const { key, text } of values) {
      if (text === null) meta.delete(key)
      else meta.set(key, text)
    }
  }

  return {
    getRecord: (model, id, signal) =>
      calls.run(async () => {
        throwIfAborted(signal, 'getRecord')
        const text = records.get(model)?.get(id)
        return text === undefined ? undefined : (JSON.parse(text) as StoredRow)
      }),
    scanRecords: (model, signal) =>
      calls.run(async () => {
        throwIfAborted(signal, 'scanRecords')
        const table = records.get(model)
        if (!table) return []
        return [...table.keys()].sort().map((id) => JSON.parse(table.get(id) as string) as StoredRow)
      }),
    listOutbox: (signal) =>
      calls.run(async () => {
        throwIfAborted(signal, 'listOutbox')
        return [...outbox.keys()].sort((a, b) => a - b).map((mid) => JSON.parse(outbox.get(mid) as string) as OutboxEntry)
      }),
    getMeta: (key, signal) =>
      calls.run(async () => {
        throwIfAborted(signal, 'getMeta')
        const text = meta.get(key)
        return text === undefined ? undefined : (JSON.parse(text) as JsonValue)
      }),
    commit: (batch, signal) =>
      calls.run(async () => {
        throwIfAborted(signal, 'commit')
        commit(batch)
      }),
    close: () => calls.close(() => {}),
  }
}
