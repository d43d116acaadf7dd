/**
 * What `decide` takes besides the op — the state it decides on and the batch's context — and
 * what it returns: a `Decision`, either a refusal or what the op did and what must be written
 * for it (new record state, history entry, conflict to open or settle). `persist` writes those;
 * the change order is derived there from each record's net change.
 */
import type { Conflict, ModelDefinition, PulseError, Schema } from '@pulse/core'
import type { HistoryEntry, StoredRecord } from '../storage/storage.ts'
import type { Actor } from './context.ts'
import type { Refused } from './refusal.ts'

/**
 * The status of an op that was not refused: the §4 statuses, and `unchanged` for a plain write
 * that found the record already as asked (nothing written; answered like `applied`).
 */
export type WriteStatus = 'applied' | 'unchanged' | 'merged' | 'conflict' | 'stale' | 'duplicate'

/** The state an op is decided on, as the batch has left it. */
export interface Current {
  /**
   * The record the op names (a resolve: the conflict's record), tombstones included, whether or
   * not the caller may see it (`decide` judges that); undefined when there is none.
   */
  readonly record: StoredRecord | undefined
  /**
   * The record's history since the edit's `baseVersion`, oldest first, earlier ops of the batch
   * included: needed only when `historySince` names a version (a concurrent synced update with
   * contested fields, §5); otherwise empty.
   */
  readonly history: readonly HistoryEntry[]
  /** A resolve's conflict, undefined when there is none. */
  readonly conflict?: Conflict | undefined
}

/** Who writes, and when: the same for every op of a batch. */
export interface DecideContext {
  /** The models (a resolve finds its conflict's model here). */
  readonly schema: Schema
  readonly actor: Actor
  /** The request id, carried into history. */
  readonly requestId: string | null
  /** The pushing device (§4), null for plain writes: named in history and in opened conflicts. */
  readonly clientId: string | null
  /** The last mid recorded for `clientId` before this batch (§4 exactly once); 0 without a device. */
  readonly lastMid: number
  /**
   * The refusals recorded for the batch's mids at or below `lastMid`: a retry whose first answer
   * was lost hears that refusal again, not `duplicate` (§4).
   */
  readonly refusals?: ReadonlyMap<number, PulseError>
  /**
   * The conflicts the batch's mids at or below `lastMid` opened when first sent, as they are now:
   * a retry whose first answer was lost hears `conflict` again, not `duplicate` (§4).
   */
  readonly conflicts?: ReadonlyMap<number, Conflict>
  /** The batch's wall time (ISO-8601 UTC): `createdAt`, `updatedAt`, `deletedAt`. */
  readonly nowIso: string
  /** The server's HLC time of the batch: the `at` of plain writes' history (pushed `at`s are clamped to it, §4). */
  readonly serverAt: string
  /** Makes a new id (a UUIDv7): created records without one, and opened conflicts. */
  newId(): string
}

/** One op's change to one record, for `persist`. */
export interface RecordChange {
  readonly model: ModelDefinition
  /** The record as the op found it; undefined for a create (persist inserts it). */
  readonly before: StoredRecord | undefined
  readonly after: StoredRecord
  /** Its audit-trail entry; undefined for a model that keeps no history. */
  readonly history: HistoryEntry | undefined
}

/** An op that was not refused: what it did, and what to write for it. */
export interface Accepted {
  readonly ok: true
  readonly status: WriteStatus
  /** The record after the op; for stale and duplicate, the server's state (when the caller may see it). */
  readonly record: StoredRecord | undefined
  /** The conflict the op opened (status `conflict`) or settled (a resolve). */
  readonly conflict?: Conflict
  /** The record's change; absent when the record stays as it is. */
  readonly change?: RecordChange
  /** How `conflict` is stored: a new one inserted, a settled one replaced; absent: not stored. */
  readonly conflictWrite?: 'insert' | 'update'
}

/** What `decide` says about one op. */
export type Decision = Accepted | Refused
