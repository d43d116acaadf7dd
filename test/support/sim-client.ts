/**
 * A simulated offline-first client of the sync protocol (PROTOCOL.md §3–§5), for fuzz tests.
 * It keeps a local store of wire records, a queue of pending mutations and its own hybrid
 * logical clock; edits apply optimistically to the store with the vector-clock rules of §4 (a
 * local edit increments this device's entry of the record's clock; `baseVersion` is the server
 * version the local state came from). Online, it pushes its queue over HTTP and pulls from its
 * cursor. Server states it receives are kept as "confirmed"; the store shows a record's newest
 * confirmed state whenever no local edit of it is pending.
 */
import { createHlc, type Hlc, incrementClock, type Mutation, type PullResponse, type PushResponse, type WireRecord } from '@pulse/core'
import type { httpClient } from './server.ts'

/** The HTTP client the simulated devices talk through. */
export type Api = ReturnType<typeof httpClient>

/** A record in a client's store, with its model. */
export interface LocalRecord {
  model: string
  record: WireRecord
}

/** Told about every push the server answered, in the order the server received them. */
export type PushObserver = (clientId: string, mutations: readonly Mutation[], response: PushResponse) => void

/** Marks a local tombstone until the server's `deletedAt` arrives. */
const LOCAL_DELETE = 'pending-delete'

/** A simulated device. */
export class SimClient {
  /** What the user sees: the newest confirmed state, or the optimistic one while edits are pending. */
  readonly store = new Map<string, LocalRecord>()
  /** The newest server state received of each record. */
  private readonly confirmed = new Map<string, LocalRecord>()
  /** Mutations not yet acknowledged, oldest first. */
  queue: Mutation[] = []
  online = true
  cursor: string | null = null
  private mid = 0
  private readonly hlc: Hlc

  constructor(
    readonly deviceId: string,
    private readonly api: Api,
    now: () => number,
    private readonly observe: PushObserver,
  ) {
    this.hlc = createHlc(now)
  }

  /** True when a mutation of this record waits in the queue. */
  pending(id: string): boolean {
    return this.queue.some((m) => m.id === id)
  }

  /** Live records this device could edit, in a stable order. */
  editable(): string[] {
    return [...this.store.entries()].filter(([, r]) => r.record.deletedAt === null).map(([id]) => id)
  }

  private enqueue(m: Omit<Mutation, 'mid' | 'at'>): Mutation {
    this.mid += 1
    const mutation: Mutation = { mid: this.mid, at: this.hlc.tick(), ...m }
    this.queue.push(mutation)
    return mutation
  }

  /** A local create: all fields in `data`. */
  create(model: string, id: string, data: Record<string, unknown>): Mutation {
    const vclock = incrementClock({}, this.deviceId)
    // Version 0: not on the server yet. Timestamps are the server's to set.
    const record: WireRecord = { id, version: 0, vclock, createdAt: '', updatedAt: '', deletedAt: null, ...data }
    this.store.set(id, { model, record })
    return this.enqueue({ model, op: 'create', id, vclock, data })
  }

  /** A local update of the changed fields in `data`. */
  update(id: string, data: Record<string, unknown>): Mutation {
    const local = this.local(id)
    const vclock = incrementClock(local.record.vclock, this.deviceId)
    this.store.set(id, { model: local.model, record: { ...local.record, ...data, vclock } })
    return this.enqueue({ model: local.model, op: 'update', id, vclock, baseVersion: baseVersionOf(local.record), data })
  }

  /**
   * A create of a record this device already knows (an import with a fixed id): §4 answers it
   * as an update without `baseVersion`.
   */
  recreate(id: string, data: Record<string, unknown>): Mutation {
    const local = this.local(id)
    const vclock = incrementClock(local.record.vclock, this.deviceId)
    this.store.set(id, { model: local.model, record: { ...local.record, ...data, vclock } })
    return this.enqueue({ model: local.model, op: 'create', id, vclock, data })
  }

  /** A local delete. */
  delete(id: string): Mutation {
    const local = this.local(id)
    const vclock = incrementClock(local.record.vclock, this.deviceId)
    this.store.set(id, { model: local.model, record: { ...local.record, vclock, deletedAt: LOCAL_DELETE } })
    return this.enqueue({ model: local.model, op: 'delete', id, vclock, baseVersion: baseVersionOf(local.record) })
  }

  private local(id: string): LocalRecord {
    const local = this.store.get(id)
    if (!local) throw new Error(`${this.deviceId} has no record ${id}`)
    return local
  }

  /**
   * Pushes the queue (§4), or its first `max` mutations. With `loseResponse`, the server
   * answers but the device never hears it (a timeout): the queue stays and the next push sends
   * the same mids again.
   */
  async push(options: { loseResponse?: boolean; max?: number } = {}): Promise<void> {
    if (!this.online || this.queue.length === 0) return
    const sent = this.queue.slice(0, options.max ?? this.queue.length)
    const res = await this.api.post('/api/sync/push', { clientId: this.deviceId, mutations: sent })
    if (res.status !== 200) throw new Error(`push by ${this.deviceId} answered ${res.status}: ${res.text}`)
    const response = res.json as PushResponse
    this.observe(this.deviceId, sent, response)
    if (options.loseResponse) return
    for (const [i, m] of sent.entries()) {
      const result = response.results[i]
      if (!result || result.mid !== m.mid) throw new Error(`push by ${this.deviceId}: no result for mid ${m.mid}`)
      this.queue.shift()
      if (result.status === 'rejected' || !result.record) {
        // Rejected (or a retried one the server only knows as done): back to the server's state.
        this.settle(m.id)
      } else {
        this.receive(m.model, result.record)
      }
    }
  }

  /** Pulls up to `pages` pages of `limit` changes from the cursor (§3); false when offline. */
  async pull(limit: number, pages = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (!this.online) return false
    for (let page = 0; page < pages; page++) {
      const query = `limit=${limit}${this.cursor === null ? '' : `&cursor=${encodeURIComponent(this.cursor)}`}`
      const res = await this.api.get(`/api/sync/pull?${query}`)
      if (res.status !== 200) throw new Error(`pull by ${this.deviceId} answered ${res.status}: ${res.text}`)
      const body = res.json as PullResponse
      for (const change of body.changes) {
        if (change.removed) throw new Error('no scopes here: nothing is ever removed from scope')
        this.receive(change.model, change.record)
      }
      this.cursor = body.cursor
      if (!body.hasMore) break
    }
    return true
  }

  /** Takes in a server state: kept as confirmed if newest; shown unless local edits are pending. */
  private receive(model: string, record: WireRecord): void {
    const known = this.confirmed.get(record.id)
    if (!known || record.version >= known.record.version) this.confirmed.set(record.id, { model, record })
    this.settle(record.id)
  }

  /** With no local edit pending, the store shows the newest confirmed state (none: the record is gone). */
  private settle(id: string): void {
    if (this.pending(id)) return
    const confirmed = this.confirmed.get(id)
    if (confirmed) this.store.set(id, confirmed)
    else this.store.delete(id)
  }
}

/** §4: the server version the local state came from; a record not yet on the server will be version 1. */
function baseVersionOf(record: WireRecord): number {
  return Math.max(1, record.version)
}
