/**
 * The write side of live sync: after each commit the engine reports, one bus message. Every
 * process dispatches live changes only from its bus subscription, its own commits included.
 */
import type { Engine } from '../engine/engine.ts'
import { toWire } from '../engine/records.ts'
import { scopeOf } from '../engine/scope.ts'
import type { CommittedChange } from '../engine/write.ts'
import type { Bus, BusChange, BusErrorHandler, BusMessage } from './bus.ts'

/** The bus message of one commit (records serialised once, here); undefined for an empty one. */
export function toBusMessage(changes: readonly CommittedChange[]): BusMessage | undefined {
  if (changes.length === 0) return undefined
  const sorted = [...changes].sort((a, b) => a.seq - b.seq)
  const out: BusChange[] = sorted.map(({ model, record, seq, removedFrom }) =>
    removedFrom
      ? { model: model.name, seq, ...removedFrom, record: { id: record.id }, removed: true }
      : { model: model.name, seq, ...scopeOf(model, record.values), record: toWire(record) },
  )
  // A commit's positions are contiguous (the storage allocates them together at its end).
  const first = out[0]?.seq ?? 0
  const last = out[out.length - 1]?.seq ?? 0
  return { prev: first - 1, last, changes: out }
}

/**
 * Publishes every commit of `engine` on `bus`. A failed publish goes to `onError`: other
 * processes then see a gap and poke their clients, who pull. Returns the unsubscribe function.
 */
export function publishCommits(engine: Engine, bus: Bus, onError: BusErrorHandler): () => void {
  return engine.onCommit((changes) => {
    const message = toBusMessage(changes)
    if (!message) return
    bus.publish(message).catch(onError)
  })
}
