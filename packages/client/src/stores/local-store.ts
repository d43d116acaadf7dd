/**
 * The seam between the client and where it keeps its data: one small interface that memory,
 * IndexedDB and SQLite implement alike and that `runLocalStoreSuite` checks. Three tables:
 * records (by model and id), the outbox (mutations by `mid`) and meta (a key-value table for
 * the cursor, the client id, the clock). Every write goes through `commit`, which applies a
 * batch atomically, so a local edit and its outbox entry land together or not at all. All
 * logic lives above this interface; a store only keeps what it is given.
 */
import type { Mutation, WireRecord } from '@pulse/core'
import type { LocalRecord, SyncErrorInfo } from '../local-record.ts'
import type { AbortSignalLike } from '../platform.ts'

/** A JSON value, as the meta table keeps it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/** One record as a store keeps it. */
export interface StoredRow {
  readonly model: string
  /** What the app sees: the server state with pending local edits on top, and the flags. */
  readonly record: LocalRecord
  /** The last server state under pending local edits; absent when none are pending. */
  readonly server?: WireRecord
}

/**
 * Where a mutation stands in the outbox (seed 004's queue). FAILED: it gave up after its last
 * attempt; REJECTED: the server refused it (§4 `rejected`). Neither is sent again unless the
 * app asks (`retryRejections`); a REJECTED one no longer shapes the record the app sees.
 */
export type OutboxStatus = 'PENDING' | 'SYNCING' | 'SYNCED' | 'FAILED' | 'REJECTED'

/** One mutation waiting in the outbox, with its delivery bookkeeping. */
export interface OutboxEntry {
  /** The mutation as it goes on the wire (§4); `mutation.mid` is the entry's key. */
  readonly mutation: Mutation
  readonly status: OutboxStatus
  /** How many times it was sent. */
  readonly attempts: number
  /** Why the last attempt failed. */
  readonly lastError: SyncErrorInfo | null
  /** Not sent again before this time (ms since the epoch). */
  readonly nextAttemptAt: number
  /** When the edit was made (ISO-8601). */
  readonly createdAt: string
  /** Sent again once already after a scope change (§8), so a second refusal is final. */
  readonly scopeRetried?: boolean
}

/** Puts a row (or deletes it, with `row: null`). */
export interface RecordWrite {
  readonly model: string
  readonly id: string
  readonly row: StoredRow | null
}

/** Puts an outbox entry (or deletes it, with `entry: null`). */
export interface OutboxWrite {
  readonly mid: number
  readonly entry: OutboxEntry | null
}

/** Sets a meta value (or deletes it, with `value: null`). */
export interface MetaWrite {
  readonly key: string
  readonly value: JsonValue
}

/** Writes applied together. Each key appears at most once per table. */
export interface StoreBatch {
  readonly records: readonly RecordWrite[]
  readonly outbox: readonly OutboxWrite[]
  readonly meta: readonly MetaWrite[]
}

/**
 * Where a client keeps its records, outbox and meta. One client uses a store at a time.
 * Reads see every commit that resolved before them; commits apply in the order they are
 * called. Every method rejects once the store is closed.
 */
export interface LocalStore {
  /**
   * Set by a store that other tabs of the origin may open too (IndexedDB: its database name).
   * The client then lets one tab at a time own it (Web Locks) and the others write through that
   * one (ClientOptions.tabs).
   */
  readonly sharedName?: string
  /** One record, or undefined. */
  getRecord(model: string, id: string, signal?: AbortSignalLike): Promise<StoredRow | undefined>
  /** Every record of a model (tombstones included), in id order. */
  scanRecords(model: string, signal?: AbortSignalLike): Promise<StoredRow[]>
  /** Every outbox entry, in `mid` order. */
  listOutbox(signal?: AbortSignalLike): Promise<OutboxEntry[]>
  /** A meta value, or undefined. */
  getMeta(key: string, signal?: AbortSignalLike): Promise<JsonValue | undefined>
  /** Applies a batch atomically: all of it, or (when it rejects) none of it. */
  commit(batch: StoreBatch, signal?: AbortSignalLike): Promise<void>
  /** Releases the store; waits for commits already called. */
  close(): Promise<void>
}

/** A batch that writes nothing. */
export const EMPTY_BATCH: StoreBatch = Object.freeze({ records: [], outbox: [], meta: [] })

/** The error a closed store rejects with. */
export function storeClosedError(name: string): Error {
  const error = new Error(`the local store ${name} is closed`)
  error.name = 'StoreClosedError'
  return error
}
