/**
 * Refused mutations: those the server refused (REJECTED, a §4 `rejected` result) and those that
 * gave up after their last attempt (FAILED). The app sees them as a live list with the reason
 * of each, and sends them again or discards them; none is dropped in silence. A refusal for the
 * caller's scope (`forbidden`, `not_found`, `org_required`) is sent again once by itself after
 * a scope change (§8): it may have come from a stale view of the caller's organizations.
 */
import type { MutationOp } from '@pulse/core'
import type { SyncErrorInfo } from './local-record.ts'
import type { Replica, Txn } from './replica.ts'
import { settle } from './server-apply.ts'
import type { OutboxEntry } from './stores/local-store.ts'

/** One refused mutation, as the app sees it. */
export interface Rejection {
  /** The mutation's `mid`: what `retryRejections` and `discardRejections` take. */
  readonly mid: number
  readonly model: string
  /** The record's id. */
  readonly id: string
  readonly op: MutationOp
  /** The fields it carried (create: all, update: the changed ones). */
  readonly data?: Readonly<Record<string, unknown>>
  /** `rejected`: the server refused this mutation; `failed`: it gave up after its last attempt (the server kept failing). */
  readonly kind: 'rejected' | 'failed'
  /** Why (the server's §7 code and message, `field` when one field was at fault). */
  readonly error: SyncErrorInfo
  /** When the edit was made (ISO-8601). */
  readonly createdAt: string
}

/** Most REJECTED mutations kept; past it the oldest are discarded, and the app is told through `onError`. */
export const MAX_REJECTED = 1000

/** Codes with which a stale view of the caller's scope refuses a mutation (§8). */
const SCOPE_CODES: ReadonlySet<string> = new Set(['forbidden', 'not_found', 'org_required'])

function rejectionOf(entry: OutboxEntry): Rejection {
  const { mid, model, id, op, data } = entry.mutation
  return Object.freeze({
    mid,
    model,
    id,
    op,
    ...(data ? { data } : {}),
    kind: entry.status === 'REJECTED' ? 'rejected' : 'failed',
    error: entry.lastError ?? { code: 'rejected', message: 'the server refused the change' },
    createdAt: entry.createdAt,
  })
}

/** The live list: a snapshot that changes identity only when a refused entry changed, and its listeners. */
export class RejectionList {
  private entries: readonly OutboxEntry[] = []
  private snapshot: readonly Rejection[] = Object.freeze([])
  private readonly listeners = new Set<() => void>()

  constructor(private readonly onError: (error: unknown) => void) {}

  get(): readonly Rejection[] {
    return this.snapshot
  }

  /** Takes the refused entries now; listeners hear of it only if one changed. */
  refresh(entries: readonly OutboxEntry[]): void {
    if (entries.length === this.entries.length && entries.every((e, i) => e === this.entries[i])) return
    const kept = new Map(this.entries.map((e, i) => [e, this.snapshot[i] as Rejection]))
    this.entries = entries
    this.snapshot = Object.freeze(entries.map((e) => kept.get(e) ?? rejectionOf(e)))
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (e) {
        this.onError(e)
      }
    }
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
}

/** Sends refused mutations again, each under a new `mid` as a new mutation; returns how many. */
export function retryRefused(replica: Replica, txn: Txn, entries: readonly OutboxEntry[], extra: Partial<OutboxEntry> = {}): number {
  for (const entry of entries) {
    const { model, id } = entry.mutation
    // The server state, read before the entry is pending again (then the row must carry it).
    const server = replica.serverOf(replica.row(model, id))
    replica.outbox.renumber({ ...entry, ...extra }, txn.batch)
    // Back in the record's pending edits: the record shows it again.
    settle(replica, txn, model, id, server)
  }
  return entries.length
}

/**
 * Forgets refused mutations: the record shows the server's state again (a create the server
 * never had goes with it), flagged with the reason of a refusal still listed for it, if any.
 */
export function discardRefused(replica: Replica, txn: Txn, entries: readonly OutboxEntry[]): number {
  for (const entry of entries) {
    const { model, id } = entry.mutation
    replica.outbox.remove(entry.mutation.mid, txn.batch)
    const row = replica.row(model, id)
    if (!row) continue
    const still = replica.outbox.refused().filter((e) => e.mutation.model === model && e.mutation.id === id && e.status === 'REJECTED')
    if (!replica.serverOf(row) && row.record.version === 0 && replica.outbox.forRecord(model, id).length === 0) {
      replica.put(txn, model, id, null)
    } else settle(replica, txn, model, id, undefined, still.at(-1)?.lastError ?? null)
  }
  return entries.length
}

/** The refused entries `mids` names (all when absent) of the given kinds. */
export function refusedEntries(replica: Replica, mids: readonly number[] | undefined, kinds: readonly Rejection['kind'][]): OutboxEntry[] {
  const wanted = mids ? new Set(mids) : undefined
  const status = new Set<OutboxEntry['status']>(kinds.map((k) => (k === 'rejected' ? 'REJECTED' : 'FAILED')))
  return replica.outbox.refused().filter((e) => (!wanted || wanted.has(e.mutation.mid)) && status.has(e.status))
}

/**
 * A local write of a record supersedes its REJECTED mutations of these ops (a refused create
 * once the record is edited again, which queues a create with all its fields; anything once it
 * is deleted): they are discarded with it.
 */
export function supersedeRejected(replica: Replica, txn: Txn, model: string, id: string, ops: readonly MutationOp[]): void {
  for (const entry of replica.outbox.refused()) {
    const m = entry.mutation
    if (entry.status === 'REJECTED' && m.model === model && m.id === id && ops.includes(m.op)) replica.outbox.remove(m.mid, txn.batch)
  }
}

/** After a scope change: sends again, once, the mutations refused for the caller's scope; returns how many. */
export function retryAfterScopeChange(replica: Replica, txn: Txn): number {
  const stale = replica.outbox
    .refused()
    .filter((e) => e.status === 'REJECTED' && !e.scopeRetried && e.lastError !== null && SCOPE_CODES.has(e.lastError.code))
  return retryRefused(replica, txn, stale, { scopeRetried: true })
}

/** Keeps at most MAX_REJECTED REJECTED entries, discarding the oldest; returns how many went. */
export function trimRejected(replica: Replica, txn: Txn): number {
  const rejected = replica.outbox.refused().filter((e) => e.status === 'REJECTED')
  const over = rejected.length - MAX_REJECTED
  return over > 0 ? discardRefused(replica, txn, rejected.slice(0, over)) : 0
}
