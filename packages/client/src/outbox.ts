/**
 * The outbox in memory, mirrored to the store through batches: every mutation not yet
 * acknowledged, in `mid` order, indexed by record. It hands out `mid`s (strictly increasing,
 * persisted) and the next batch to push, and never lets a later `mid` overtake an earlier one
 * that may still be sent: the server answers `duplicate` for any `mid` at or below the last it
 * recorded (§4), so an earlier one sent afterwards would be lost.
 */
import type { Mutation } from '@pulse/core'
import type { BatchBuilder } from './batch-builder.ts'
import type { OutboxEntry } from './stores/local-store.ts'

/** Meta key of the next `mid` to hand out. */
export const NEXT_MID_KEY = 'nextMid'

/** Meta key set once the server told this store the last `mid` it recorded for the device (§4 `lastMid`). */
export const LAST_MID_KNOWN_KEY = 'lastMidKnown'

/** How many mutations wait, how many gave up, how many the server refused. */
export interface OutboxCounts {
  /** PENDING and SYNCING. */
  readonly pending: number
  readonly failed: number
  readonly rejected: number
}

/** True for an entry that is not sent again unless the app asks: FAILED or REJECTED. */
export function isRefused(entry: OutboxEntry): boolean {
  return entry.status === 'FAILED' || entry.status === 'REJECTED'
}

const recordKey = (model: string, id: string): string => `${model}\u0000${id}`

/** The outbox of one client. */
export class Outbox {
  private readonly entries = new Map<number, OutboxEntry>()
  private readonly byRecord = new Map<string, number[]>()
  private nextMid: number
  private failed = 0
  private rejected = 0

  /**
   * Starts from what the store holds. Entries left SYNCING by a previous run go back to
   * PENDING (their push may or may not have landed; sending again is safe, §4 `duplicate`).
   */
  constructor(
    loaded: readonly OutboxEntry[],
    nextMid: number,
    batch: BatchBuilder,
    /**
     * Whether a push answer told this store the device's `lastMid`: `known`; `unsent`: not yet,
     * and the store never sent a mutation (a store made since this rule); `legacy`: not yet, and
     * it may have sent some (a store older than this rule).
     */
    private lastMid: 'known' | 'unsent' | 'legacy' = 'unsent',
  ) {
    let highest = 0
    for (const stored of [...loaded].sort((a, b) => a.mutation.mid - b.mutation.mid)) {
      const entry: OutboxEntry = stored.status === 'SYNCING' ? { ...stored, status: 'PENDING' } : stored
      if (entry !== stored) batch.putEntry(entry.mutation.mid, entry)
      this.index(entry)
      highest = entry.mutation.mid
    }
    this.nextMid = Math.max(nextMid, highest + 1)
  }

  private count(entry: OutboxEntry | undefined, by: number): void {
    if (entry?.status === 'FAILED') this.failed += by
    if (entry?.status === 'REJECTED') this.rejected += by
  }

  /** Indexes an entry by record, unless it is REJECTED: the server refused it, so it no longer shapes the record. */
  private index(entry: OutboxEntry): void {
    const { mid, model, id } = entry.mutation
    this.count(this.entries.get(mid), -1)
    this.count(entry, 1)
    this.entries.set(mid, entry)
    const key = recordKey(model, id)
    const mids = this.byRecord.get(key) ?? []
    const listed = mids.includes(mid)
    if (entry.status === 'REJECTED') {
      if (listed) this.unindex(key, mid)
    } else if (!listed) {
      this.byRecord.set(
        key,
        [...mids, mid].sort((a, b) => a - b),
      )
    }
  }

  private unindex(key: string, mid: number): void {
    const mids = (this.byRecord.get(key) ?? []).filter((m) => m !== mid)
    if (mids.length === 0) this.byRecord.delete(key)
    else this.byRecord.set(key, mids)
  }

  /** The entry with this `mid`. */
  get(mid: number): OutboxEntry | undefined {
    return this.entries.get(mid)
  }

  /** Every entry, in `mid` order. */
  list(): OutboxEntry[] {
    return [...this.entries.values()]
  }

  /** Every FAILED and REJECTED entry, in `mid` order. */
  refused(): OutboxEntry[] {
    return this.failed + this.rejected === 0 ? [] : [...this.entries.values()].filter(isRefused)
  }

  /** The record's unacknowledged mutations that shape it (PENDING, SYNCING and FAILED), oldest first. */
  forRecord(model: string, id: string): OutboxEntry[] {
    const mids = this.byRecord.get(recordKey(model, id))
    return mids ? mids.map((mid) => this.entries.get(mid) as OutboxEntry) : []
  }

  /** The record's latest unacknowledged mutation that shapes it (not REJECTED). */
  lastFor(model: string, id: string): OutboxEntry | undefined {
    const mids = this.byRecord.get(recordKey(model, id))
    const mid = mids?.[mids.length - 1]
    return mid === undefined ? undefined : this.entries.get(mid)
  }

  /** A fresh `mid`, larger than every one handed out before (persisted with the batch). */
  allocateMid(batch: BatchBuilder): number {
    const mid = this.nextMid
    this.nextMid += 1
    batch.setMeta(NEXT_MID_KEY, this.nextMid)
    return mid
  }

  /** True once a push answer told this store the device's `lastMid`: its `mid`s are above it since. */
  get knowsLastMid(): boolean {
    return this.lastMid === 'known'
  }

  /** The server recorded `lastMid` for this client: never hand out a `mid` at or below it. */
  raiseNextMid(lastMid: number, batch: BatchBuilder): void {
    if (this.lastMid !== 'known') {
      this.lastMid = 'known'
      batch.setMeta(LAST_MID_KNOWN_KEY, true)
    }
    if (lastMid + 1 <= this.nextMid) return
    this.nextMid = lastMid + 1
    batch.setMeta(NEXT_MID_KEY, this.nextMid)
  }

  /**
   * The first `lastMid` a store hears (before it sent anything: `Pusher`): mids this store
   * handed out at or below it were used by an earlier store of the device (a reinstall, a
   * cleared browser), so the server would take them for mutations it has. They move above it
   * with every later one, so that their order stays. In a store older than this rule, an entry
   * already sent (attempts) at or below it keeps its `mid` and the duplicate rules. Returns how
   * many moved.
   */
  adoptLastMid(lastMid: number, batch: BatchBuilder): number {
    const neverSent = this.lastMid === 'unsent'
    this.raiseNextMid(lastMid, batch)
    const ordered = [...this.entries.values()].filter((e) => e.status !== 'REJECTED')
    const unsent = (e: OutboxEntry) => neverSent || e.attempts === 0 || e.mutation.mid > lastMid
    const first = ordered.findIndex((e) => e.mutation.mid <= lastMid && unsent(e))
    if (first < 0) return 0
    const moving = ordered.slice(first).filter(unsent)
    for (const entry of moving) this.renumber(entry, batch)
    return moving.length
  }

  /** Adds an entry or replaces the one with its `mid`. */
  put(entry: OutboxEntry, batch: BatchBuilder): void {
    this.index(entry)
    batch.putEntry(entry.mutation.mid, entry)
  }

  /** Removes an entry (acknowledged, rejected, or squashed away). */
  remove(mid: number, batch: BatchBuilder): OutboxEntry | undefined {
    const entry = this.entries.get(mid)
    if (!entry) return undefined
    this.count(entry, -1)
    this.entries.delete(mid)
    this.unindex(recordKey(entry.mutation.model, entry.mutation.id), mid)
    batch.putEntry(mid, null)
    return entry
  }

  /** Moves an entry to a fresh `mid`, as PENDING with no attempts: it goes out as a new mutation. */
  renumber(entry: OutboxEntry, batch: BatchBuilder): OutboxEntry {
    this.remove(entry.mutation.mid, batch)
    const mutation: Mutation = { ...entry.mutation, mid: this.allocateMid(batch) }
    const moved: OutboxEntry = { ...entry, mutation, status: 'PENDING', attempts: 0, nextAttemptAt: 0, lastError: null }
    this.put(moved, batch)
    return moved
  }

  /**
   * The next mutations to push, oldest first, at most `max` of them and (beyond the first) at
   * most `maxChars` of JSON, so a batch stays under the server's frame and body limits. FAILED
   * and REJECTED ones are skipped (they no longer block the queue); the batch stops at the
   * first one still waiting out its backoff.
   */
  takeBatch(nowMs: number, max: number, maxChars = Number.POSITIVE_INFINITY): OutboxEntry[] {
    const out: OutboxEntry[] = []
    let chars = 0
    for (const entry of this.entries.values()) {
      if (out.length >= max) break
      if (isRefused(entry)) continue
      if (entry.status !== 'PENDING' || entry.nextAttemptAt > nowMs) break
      chars += JSON.stringify(entry.mutation).length
      if (out.length > 0 && chars > maxChars) break
      out.push(entry)
    }
    return out
  }

  /** When the first PENDING entry may be sent, if one waits out a backoff. */
  nextDueAt(): number | undefined {
    for (const entry of this.entries.values()) {
      if (isRefused(entry)) continue
      return entry.status === 'PENDING' ? entry.nextAttemptAt : undefined
    }
    return undefined
  }

  /** Counts by status. */
  counts(): OutboxCounts {
    return { pending: this.entries.size - this.failed - this.rejected, failed: this.failed, rejected: this.rejected }
  }
}
