/**
 * Collects the writes of one or more operations into one store batch: a later write of a key
 * replaces an earlier one, so batches can be merged (group commit) without reordering hazards.
 */
import type { JsonValue, OutboxEntry, StoreBatch, StoredRow } from './stores/local-store.ts'

/** Writes waiting to be committed together. */
export class BatchBuilder {
  private readonly records = new Map<string, { model: string; id: string; row: StoredRow | null }>()
  private readonly outbox = new Map<number, OutboxEntry | null>()
  private readonly meta = new Map<string, JsonValue>()

  /** Puts a row (or deletes it, with null). */
  putRow(model: string, id: string, row: StoredRow | null): void {
    this.records.set(`${model}\u0000${id}`, { model, id, row })
  }

  /** Puts an outbox entry (or deletes it, with null). */
  putEntry(mid: number, entry: OutboxEntry | null): void {
    this.outbox.set(mid, entry)
  }

  /** Sets a meta value (or deletes it, with null). */
  setMeta(key: string, value: JsonValue): void {
    this.meta.set(key, value)
  }

  get isEmpty(): boolean {
    return this.records.size === 0 && this.outbox.size === 0 && this.meta.size === 0
  }

  /** Adds the writes of a later builder, which win where both write a key. */
  absorb(later: BatchBuilder): void {
    for (const [key, write] of later.records) this.records.set(key, write)
    for (const [mid, entry] of later.outbox) this.outbox.set(mid, entry)
    for (const [key, value] of later.meta) this.meta.set(key, value)
  }

  /** The store batch. */
  toBatch(): StoreBatch {
    return {
      records: [...this.records.values()],
      outbox: [...this.outbox].map(([mid, entry]) => ({ mid, entry })),
      meta: [...this.meta].map(([key, value]) => ({ key, value })),
    }
  }
}
