/**
 * Local writes: validated with the model, applied at once (optimistic), each
 * with its outbox entry in the same store batch. An edit increments this device's entry of
 * the record's vector clock, takes an HLC `at`, and names as `baseVersion` the server version
 * its state came from (§4). Edits of a record whose last mutation has never been sent are
 * squashed into it: data merged, the latest clock and `at`, the earliest `baseVersion`.
 */
import {
  compareClocks,
  incrementClock,
  type ModelDefinition,
  type Mutation,
  PulseError,
  uuidv7,
  validateCreate,
  validateUpdate,
  type WireRecord,
} from '@pulse/core'
import { composeRecord } from './compose.ts'
import type { LocalRecord } from './local-record.ts'
import { supersedeRejected } from './rejections.ts'
import { META, type Replica, type Txn } from './replica.ts'
import type { OutboxEntry, StoredRow } from './stores/local-store.ts'

/** A local write's result: the record as now shown (undefined once a delete removed it), and its persistence. */
export interface LocalWrite {
  readonly record: LocalRecord | undefined
  /** Resolves once the record and its outbox entry are in the store. */
  readonly persisted: Promise<void>
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Whether a new edit may be folded into the record's last entry: it was never sent (so the
 * server cannot have recorded its `mid`), and no server state was taken in since it was made
 * (the record's clock is still the entry's, so one clock can stand for both edits).
 */
function canSquash(last: OutboxEntry | undefined, record: LocalRecord): last is OutboxEntry {
  return (
    last !== undefined &&
    last.status === 'PENDING' &&
    last.attempts === 0 &&
    last.mutation.op !== 'delete' &&
    compareClocks(last.mutation.vclock, record.vclock) === 'EQUAL'
  )
}

function newEntry(replica: Replica, mutation: Mutation): OutboxEntry {
  return {
    mutation,
    status: 'PENDING',
    attempts: 0,
    lastError: null,
    nextAttemptAt: 0,
    createdAt: new Date(replica.clock.now()).toISOString(),
  }
}

/** Recomputes a row from its server state and pending entries after a local edit. */
function settleRow(replica: Replica, txn: Txn, model: string, id: string, server: WireRecord | undefined, previous: StoredRow | undefined) {
  const pending = replica.outbox.forRecord(model, id)
  const record = composeRecord(server ?? previous?.record, pending, previous?.record.syncError ?? null)
  const row: StoredRow | null = record ? (server && pending.length > 0 ? { model, record, server } : { model, record }) : null
  replica.put(txn, model, id, row)
  return record
}

function stamp(replica: Replica, txn: Txn): string {
  const at = replica.hlc.tick()
  txn.batch.setMeta(META.hlc, at)
  return at
}

/** Extra writes stored with a local write's own batch. */
export type WriteMark = (txn: Txn) => void

/** Creates a record locally. Throws `validation_failed`, or `id_taken` when the id is in use here. */
export function createLocal(replica: Replica, model: ModelDefinition, input: unknown, mark?: WriteMark): LocalWrite {
  const { id: given, values } = validateCreate(model, input)
  const id = given ?? uuidv7()
  if (replica.row(model.name, id)) throw new PulseError('id_taken', `a ${model.name} with id ${id} exists already`)
  const txn = replica.begin()
  const at = stamp(replica, txn)
  const mutation: Mutation = {
    mid: replica.outbox.allocateMid(txn.batch),
    model: model.name,
    op: 'create',
    id,
    vclock: incrementClock({}, replica.clientId),
    data: values,
    at,
  }
  replica.outbox.put(newEntry(replica, mutation), txn.batch)
  const record = settleRow(replica, txn, model.name, id, undefined, undefined)
  mark?.(txn)
  return { record, persisted: replica.end(txn) }
}

function liveRow(replica: Replica, model: ModelDefinition, id: string): StoredRow {
  const row = replica.row(model.name, id)
  if (!row || row.record.deletedAt !== null) throw new PulseError('not_found', `no ${model.name} with id ${id}`)
  return row
}

/** Changes fields of a record locally. Throws `validation_failed`, or `not_found`. A patch that changes nothing writes nothing. */
export function updateLocal(replica: Replica, model: ModelDefinition, id: string, patch: unknown, mark?: WriteMark): LocalWrite {
  const row = liveRow(replica, model, id)
  const values = validateUpdate(model, patch)
  const changed = Object.fromEntries(Object.entries(values).filter(([field, value]) => !sameJson(row.record[field], value)))
  if (Object.keys(changed).length === 0) return { record: row.record, persisted: Promise.resolve() }
  const server = replica.serverOf(row)
  const txn = replica.begin()
  const at = stamp(replica, txn)
  const vclock = incrementClock(row.record.vclock, replica.clientId)
  const last = replica.outbox.lastFor(model.name, id)
  if (canSquash(last, row.record)) {
    const data = { ...last.mutation.data, ...changed }
    replica.outbox.put({ ...last, mutation: { ...last.mutation, data, vclock, at } }, txn.batch)
  } else if (!server && !last) {
    // A create the server refused, now edited (fixed, perhaps): it goes again as a create, in its place.
    supersedeRejected(replica, txn, model.name, id, ['create'])
    const data = Object.fromEntries([...model.specs.keys()].filter((f) => row.record[f] !== undefined).map((f) => [f, row.record[f]]))
    const mutation: Mutation = {
      mid: replica.outbox.allocateMid(txn.batch),
      model: model.name,
      op: 'create',
      id,
      vclock,
      data: { ...data, ...changed },
      at,
    }
    replica.outbox.put(newEntry(replica, mutation), txn.batch)
  } else {
    const mutation: Mutation = {
      mid: replica.outbox.allocateMid(txn.batch),
      model: model.name,
      op: 'update',
      id,
      baseVersion: Math.max(1, server?.version ?? 1),
      vclock,
      data: changed,
      at,
    }
    replica.outbox.put(newEntry(replica, mutation), txn.batch)
  }
  const record = settleRow(replica, txn, model.name, id, server, row)
  mark?.(txn)
  return { record, persisted: replica.end(txn) }
}

/**
 * The delete mutation of a record, or none: a create that was never sent is dropped with it,
 * an update never sent becomes the delete, and a record the server never had needs nothing.
 */
function queueDelete(replica: Replica, txn: Txn, row: StoredRow, server: WireRecord | undefined, at: string): void {
  const { model, record } = row
  const vclock = incrementClock(record.vclock, replica.clientId)
  const last = replica.outbox.lastFor(model, record.id)
  if (!server && (!last || (canSquash(last, record) && last.mutation.op === 'create'))) {
    if (last) replica.outbox.remove(last.mutation.mid, txn.batch)
    return
  }
  if (canSquash(last, record) && last.mutation.op === 'update') {
    const { data: _data, ...rest } = last.mutation
    replica.outbox.put({ ...last, mutation: { ...rest, op: 'delete', vclock, at } }, txn.batch)
    return
  }
  const mid = replica.outbox.allocateMid(txn.batch)
  const mutation: Mutation = { mid, model, op: 'delete', id: record.id, baseVersion: Math.max(1, server?.version ?? 1), vclock, at }
  replica.outbox.put(newEntry(replica, mutation), txn.batch)
}

/** Deletes a record locally (a tombstone until the server confirms). Throws `not_found`. */
export function deleteLocal(replica: Replica, model: ModelDefinition, id: string, mark?: WriteMark): LocalWrite {
  const row = liveRow(replica, model, id)
  const server = replica.serverOf(row)
  const txn = replica.begin()
  // Refused edits of a record deleted here are moot.
  supersedeRejected(replica, txn, model.name, id, ['create', 'update', 'delete'])
  queueDelete(replica, txn, row, server, stamp(replica, txn))
  const pending = replica.outbox.forRecord(model.name, id)
  if (pending.length === 0 && !server) replica.put(txn, model.name, id, null)
  else settleRow(replica, txn, model.name, id, server, row)
  mark?.(txn)
  return { record: undefined, persisted: replica.end(txn) }
}
