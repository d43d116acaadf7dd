/**
 * Records as the client keeps them (PROTOCOL.md §1): the wire record plus the client-only
 * flags `localOnly` and `syncError`, which never travel on the wire.
 */
import type { ModelDefinition, RecordOf, WireRecord } from '@pulse/core'

/** Why the server refused the last local change of a record (a `rejected` push result, §4). */
export interface SyncErrorInfo {
  readonly code: string
  readonly message: string
  readonly field?: string
}

/** The client-only flags of a record (§1). */
export interface LocalFlags {
  /** Created or changed locally and not yet acknowledged by the server. */
  readonly localOnly: boolean
  /** Why the server rejected the last local change; null when it did not. */
  readonly syncError: SyncErrorInfo | null
}

/** Any record in a local store: wire fields and the client flags. */
export type LocalRecord = WireRecord & LocalFlags

/** A record of model `M` in a local store, typed from its definition. */
export type LocalRecordOf<M extends ModelDefinition> = RecordOf<M> & LocalFlags

/** The wire part of a local record: the flags removed. */
export function wireOf(record: LocalRecord): WireRecord {
  const { localOnly: _localOnly, syncError: _syncError, ...wire } = record
  return wire
}
