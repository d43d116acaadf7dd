/**
 * The client's copy of its data, in memory and mirrored to the local store: every record of
 * the client's models, the outbox, and the sync state (client id, cursor, clock). Reads are
 * served from memory, synchronously; every change is made inside a `Txn` whose writes reach
 * the store as one atomic batch and whose touched models are announced once at its end.
 */
import { createHlc, type Hlc, type ModelDefinition, PulseError, type Schema, uuidv7, type WireRecord } from '@pulse/core'
import { BatchBuilder } from './batch-builder.ts'
import type { LocalRecord } from './local-record.ts'
import { LAST_MID_KNOWN_KEY, NEXT_MID_KEY, Outbox, type OutboxCounts } from './outbox.ts'
import { type Clock, systemClock } from './platform.ts'
import type { LocalStore, StoreBatch, StoredRow } from './stores/local-store.ts'
import { createWriteQueue, type WriteQueue } from './write-queue.ts'

/** Meta keys of the sync state. */
export const META = {
  clientId: 'clientId',
  cursor: 'cursor',
  hlc: 'hlc',
  resync: 'resync',
  lastSyncedAt: 'lastSyncedAt',
} as const

/** The writes and the touched models of one change. */
export interface Txn {
  readonly batch: BatchBuilder
  readonly touched: Set<string>
}

/** Who hears about changes. */
export interface ReplicaListeners {
  /** Records of these models changed. */
  records(models: ReadonlySet<string>): void
  /** The outbox may have changed: its counts now. */
  outbox(counts: OutboxCounts): void
  /** A batch of changes is in the store. */
  committed?(batch: StoreBatch): void
}

/** What `loadReplica` takes. */
export interface ReplicaOptions {
  store: LocalStore
  schema: Schema
  /** The device id; by default the one the store remembers, or a new one. */
  clientId?: string
  onError(error: unknown): void
  listeners: ReplicaListeners
  /** Time for the HLC and for bookkeeping (default: the platform's). */
  clock?: Clock
  /** A copy of a store another tab owns: loaded, then changed only by `absorb`; nothing is written. */
  mirror?: boolean
}

/** The client's data in memory. */
export class Replica {
  /** Set while a full resync runs (§2 cursor_expired): the records the new snapshot holds. */
  resyncSeen: Set<string> | undefined
  /**
   * Records whose scope is unknown: the last resync's snapshot lacked them but kept them for
   * their pending edits, or a push answer about them landed while a resync ran (an answer says
   * what the push did, not whether the caller may still see the record: it may have been applied
   * under the old scope, answered late). Once nothing is pending for one, another resync tells
   * (`resyncWanted`), unless an answer said it is gone. Bounded by the records with pending edits;
   * not persisted (a restart resyncs only if one was under way).
   */
  readonly unverified = new Set<string>()
  /**
   * Another resync is wanted for an unverified record (set when its last edit is answered, or
   * by `finishResync`); `startWantedResync` starts it, after a push or at the end of a pull.
   */
  resyncWanted = false
  private readonly queue: WriteQueue
  private closed = false

  constructor(
    readonly schema: Schema,
    readonly clientId: string,
    readonly hlc: Hlc,
    readonly outbox: Outbox,
    private readonly rows: Map<string, Map<string, StoredRow>>,
    public cursor: string | null,
    public lastSyncedAt: string | null,
    readonly clock: Clock,
    store: LocalStore,
    private readonly onError: (error: unknown) => void,
    private readonly listeners: ReplicaListeners,
  ) {
    this.queue = createWriteQueue(store, listeners.committed)
  }

  /** The model definition of a name (or of a definition, checked to be one of the client's). */
  model(model: ModelDefinition | string): ModelDefinition {
    const name = typeof model === 'string' ? model : model.name
    const found = this.schema.models.get(name)
    if (!found) throw new PulseError('not_found', `the client has no model "${name}"`)
    return found
  }

  /** A record's row, tombstones included. */
  row(model: string, id: string): StoredRow | undefined {
    return this.rows.get(model)?.get(id)
  }

  /** Every row of a model. */
  rowsOf(model: string): Iterable<StoredRow> {
    return this.rows.get(model)?.values() ?? []
  }

  /** The live record (no tombstone), or undefined. */
  live(model: string, id: string): LocalRecord | undefined {
    const record = this.row(model, id)?.record
    return record && record.deletedAt === null ? record : undefined
  }

  /** The last server state of a row: stored under pending edits, else the record itself once the server has it. */
  serverOf(row: StoredRow | undefined): WireRecord | undefined {
    if (!row) return undefined
    if (row.server) return row.server
    const { record } = row
    if (record.version === 0 || this.outbox.lastFor(row.model, record.id)) return undefined
    const { localOnly: _l, syncError: _s, ...wire } = record
    return wire
  }

  /** Starts a change. */
  begin(): Txn {
    return { batch: new BatchBuilder(), touched: new Set() }
  }

  /** Puts or deletes a row, in memory now and in the store with the change. */
  put(txn: Txn, model: string, id: string, row: StoredRow | null): void {
    let table = this.rows.get(model)
    if (!table) {
      table = new Map()
      this.rows.set(model, table)
    }
    if (row === null) {
      if (!table.delete(id)) return
    } else table.set(id, row)
    txn.batch.putRow(model, id, row)
    txn.touched.add(model)
  }

  /** Moves the cursor; it is persisted with the change, except during a full resync (kept until it completes). */
  setCursor(txn: Txn, cursor: string | null): void {
    this.cursor = cursor
    if (!this.resyncSeen) txn.batch.setMeta(META.cursor, cursor)
  }

  /**
   * Ends a change: queues its writes and tells listeners. Resolves once they are in the store.
   * After `close()`, changes from work still winding down (a late socket message) are dropped:
   * the next run syncs them again.
   */
  end(txn: Txn): Promise<void> {
    if (this.closed) return Promise.resolve()
    const written = this.queue.write(txn.batch)
    if (txn.touched.size > 0) this.listeners.records(txn.touched)
    this.listeners.outbox(this.outbox.counts())
    return written
  }

  /** Ends a change nobody waits for: a failure to store it goes to `onError`. */
  endInBackground(txn: Txn): void {
    this.end(txn).catch(this.onError)
  }

  /**
   * Takes in a batch the tab that owns the store committed (this replica is its mirror): memory
   * only, nothing is written. Listeners hear of it as of any change.
   */
  absorb(batch: StoreBatch): void {
    const touched = new Set<string>()
    for (const w of batch.records) {
      const table = this.rows.get(w.model)
      if (!table) continue
      // Records are shared and never changed: those that crossed from another tab are frozen here.
      if (w.row === null) table.delete(w.id)
      else table.set(w.id, { ...w.row, record: Object.freeze(w.row.record) })
      touched.add(w.model)
    }
    const scratch = new BatchBuilder()
    for (const w of batch.outbox) {
      if (w.entry === null) this.outbox.remove(w.mid, scratch)
      else this.outbox.put(w.entry, scratch)
    }
    for (const w of batch.meta) {
      if (w.key === META.cursor) this.cursor = typeof w.value === 'string' ? w.value : null
      else if (w.key === META.lastSyncedAt) this.lastSyncedAt = typeof w.value === 'string' ? w.value : null
    }
    if (touched.size > 0) this.listeners.records(touched)
    this.listeners.outbox(this.outbox.counts())
  }

  /** Resolves once every change so far is in the store. */
  flushed(): Promise<void> {
    return this.queue.idle()
  }

  /** Takes no more changes; resolves once those already made are in the store. */
  close(): Promise<void> {
    this.closed = true
    return this.queue.idle()
  }
}

/** Reads the store into memory: meta, outbox, and every record of the client's models. */
export async function loadReplica(options: ReplicaOptions): Promise<Replica> {
  const { store, schema } = options
  const batch = new BatchBuilder()
  const [storedId, cursor, nextMid, lastMidKnown, hlcState, resync, lastSyncedAt, entries] = await Promise.all([
    store.getMeta(META.clientId),
    store.getMeta(META.cursor),
    store.getMeta(NEXT_MID_KEY),
    store.getMeta(LAST_MID_KNOWN_KEY),
    store.getMeta(META.hlc),
    store.getMeta(META.resync),
    store.getMeta(META.lastSyncedAt),
    store.listOutbox(),
  ])
  const clientId = options.clientId ?? (typeof storedId === 'string' ? storedId : uuidv7())
  if (clientId !== storedId) batch.setMeta(META.clientId, clientId)
  const clock = options.clock ?? systemClock
  const now = () => clock.now()
  let hlc: Hlc
  try {
    hlc = createHlc(now, typeof hlcState === 'string' ? hlcState : undefined)
  } catch {
    // A stored clock state that does not parse (written by a broken build): start from the wall clock.
    hlc = createHlc(now)
  }
  // A store that never handed out a mid has sent nothing: it will learn the device's lastMid first.
  const fresh = nextMid === undefined && entries.length === 0
  if (fresh && lastMidKnown === undefined) batch.setMeta(LAST_MID_KNOWN_KEY, false)
  const outbox = new Outbox(
    entries,
    typeof nextMid === 'number' ? nextMid : 1,
    batch,
    lastMidKnown === true ? 'known' : lastMidKnown === false || fresh ? 'unsent' : 'legacy',
  )
  const rows = new Map<string, Map<string, StoredRow>>()
  for (const model of schema.models.keys()) {
    const table = new Map<string, StoredRow>()
    for (const row of await store.scanRecords(model)) table.set(row.record.id, { ...row, record: Object.freeze(row.record) })
    rows.set(model, table)
  }
  const replica = new Replica(
    schema,
    clientId,
    hlc,
    outbox,
    rows,
    // A full resync cut short by a restart starts over from no cursor.
    resync === true || typeof cursor !== 'string' ? null : cursor,
    typeof lastSyncedAt === 'string' ? lastSyncedAt : null,
    clock,
    store,
    options.onError,
    options.listeners,
  )
  if (resync === true) replica.resyncSeen = new Set()
  // A mirror leaves the store as its owner keeps it (a missing client id, SYNCING entries: the owner's to fix).
  if (!batch.isEmpty && !options.mirror) {
    const txn = replica.begin()
    txn.batch.absorb(batch)
    await replica.end(txn)
  }
  return replica
}
