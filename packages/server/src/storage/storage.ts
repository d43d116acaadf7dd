/**
 * The storage seams of Pulse. `Storage` is the engine's: the engine holds all the logic
 * (validation, versions, clocks, conflicts); a Storage only keeps records, their history, the
 * change order, clients and conflicts, and answers queries, inside transactions. Nothing in it
 * is SQL. `SqlStorage` adds typed SQL access for the stores beside the engine (accounts).
 * Both implementations, SQLite and PostgreSQL, pass the same conformance suite
 * (`runStorageSuite`, exported as `@pulse/server/storage-suite`).
 */
import type { Conflict, ModelDefinition, Schema } from '@pulse/core'
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'

/** A record as stored: system fields, per-field versions, and model field values. */
export interface StoredRecord {
  id: string
  /** 1 on create, +1 on every accepted change (§1). */
  version: number
  /** Version vector (§1). */
  vclock: Record<string, number>
  /** ISO-8601 UTC strings with milliseconds. */
  createdAt: string
  updatedAt: string
  /** Set when the record is a tombstone. */
  deletedAt: string | null
  /** The record version at which each field last changed (§5 contested fields). */
  fieldVersions: Record<string, number>
  /** Model field values in canonical wire form (as `validateCreate` returns them). */
  values: Record<string, unknown>
}

/** What one change did to a record, for the audit trail (§10 history). */
export type HistoryOp = 'create' | 'update' | 'delete' | 'resolve' | 'restore'

/** One audit-trail entry. */
export interface HistoryEntry {
  model: string
  recordId: string
  /** The record's version after this change. */
  version: number
  op: HistoryOp
  /** Changed fields with old and new values; `old` is `null` on create. */
  changes: Record<string, { old: unknown; new: unknown }>
  /** Who made the change: user, device, request (null where unknown). */
  userId: string | null
  deviceId: string | null
  requestId: string | null
  /** ISO-8601 UTC. */
  at: string
}

/** One entry of the change order: the record's latest change, with what scope needs. */
export interface ChangeEntry {
  model: string
  recordId: string
  version: number
  /** The record's owner and organization (null when the model has none), for scoped pulls. */
  ownerId: string | null
  orgId: string | null
  deleted: boolean
  /**
   * The record left this scope (its owner or organization changed): readers in the scope named
   * by `ownerId` / `orgId` drop it (§8). A record has at most one live entry, and one removal
   * per scope it has left (a later removal from the same scope replaces the earlier).
   */
  removed?: boolean
}

/** A change-order entry as read back, with its position. */
export interface ChangeRow extends ChangeEntry {
  /** Position in the change order: never reused; a reader never passes one still committing (§2). */
  seq: number
  removed: boolean
}

/**
 * Which change-order entries a reader may see (PROTOCOL.md §8). Absent `scope` means all
 * (admins, the system). With `scope`, an entry is visible when its model is one of
 * `globalModels`, or its `ownerId` is `userId`, or its `orgId` is one of `orgIds`.
 */
export interface ChangeFilter {
  /** Only entries of these models. */
  models?: readonly string[]
  scope?: { globalModels: readonly string[]; userId: string | null; orgIds: readonly string[] }
}

/** Which conflicts to list, newest first (by `createdAt`, then `id`). */
export interface ConflictQuery {
  /** Only conflicts opened by this user's pushes (null: by pushes without a user). */
  userId?: string | null
  status?: 'open' | 'resolved'
  /**
   * Only conflicts whose record's live change-order entry passes this scope (as in
   * `ChangeFilter`): the record's owner and organization now, not when the conflict opened. A
   * record with no live entry (purged) has none. Absent: every conflict.
   */
  scope?: ChangeFilter['scope']
  /** Only conflicts after this one in the order (older, or as old with a smaller id): the next page. */
  before?: { createdAt: string; id: string }
  limit: number
}

/** A client's row (§4): its last recorded mutation id and who owns the clientId. */
export interface ClientRow {
  lastMid: number
  /** Who first pushed as the clientId (see the engine's `clientOwnerOf`); null when no one has claimed it. */
  owner: string | null
}

/** Ordering of a list: a model field or `createdAt` / `updatedAt`, ascending or descending. */
export interface ListOrder {
  field: string
  direction: 'asc' | 'desc'
}

/** A page request for `listRecords`. */
export interface ListQuery {
  /** Equality filters: field name to canonical value (`null` matches null). */
  where?: Record<string, unknown>
  /** Default `{ field: 'createdAt', direction: 'asc' }`; ties are broken by `id`. */
  orderBy?: ListOrder
  /** At most this many records (the caller bounds it). */
  limit: number
  /** Keyset position: the order value and id of the last record of the previous page. */
  after?: { value: unknown; id: string }
  /** Include tombstones (default false). */
  includeDeleted?: boolean
}

/** A page of records bounded in count and in bytes (`listPage`). */
export interface RecordPage {
  records: StoredRecord[]
  /** Records follow this page (it stopped at `limit` or at the byte bound). */
  more: boolean
}

/** A step of a schema migration. */
export interface MigrationStep {
  kind: 'create_table' | 'add_column' | 'drop_column' | 'change_column' | 'drop_table' | 'create_index'
  model: string
  field?: string
  /** True when applying it loses data (dropped field or model, changed type). */
  destructive: boolean
  /** One line for a person: what it does, and what would be lost. */
  description: string
}

/** What `planMigration` found and `migrate` applied. */
export interface MigrationPlan {
  steps: MigrationStep[]
  /** True once `migrate` has applied the steps. */
  applied: boolean
}

/** Writes and locked reads inside one transaction. */
export interface StorageTx {
  /**
   * The records with these ids (tombstones included), locked against concurrent writers
   * until the transaction ends (PostgreSQL: `FOR UPDATE`).
   */
  getRecords(model: ModelDefinition, ids: readonly string[]): Promise<Map<string, StoredRecord>>
  /** Inserts new records. */
  insertRecords(model: ModelDefinition, records: readonly StoredRecord[]): Promise<void>
  /** Replaces existing records (matched by id) with these states. */
  updateRecords(model: ModelDefinition, records: readonly StoredRecord[]): Promise<void>
  appendHistory(entries: readonly HistoryEntry[]): Promise<void>
  /**
   * Records the latest change of each record in the change order, replacing the record's
   * earlier entry, and returns the new positions in order: consecutive, larger than those of
   * every transaction that committed before. Call it once, last in the transaction (its
   * positions are one block; on PostgreSQL a second call throws). Readers never pass a
   * position whose transaction may still commit (no gaps, docs/change-order.md).
   */
  appendChanges(entries: readonly ChangeEntry[]): Promise<number[]>
  /**
   * The client's row, created (lastMid 0) when missing, its owner set to `owner` when it has
   * none (null claims nothing), and locked against other transactions until this one ends
   * (PostgreSQL: the upsert's row lock), so pushes of one client apply one after the other.
   * Returns the row as it now is: a different owner means someone else holds the clientId.
   */
  claimClient(clientId: string, owner: string | null): Promise<ClientRow>
  /** Records the client's last mutation id (§4); its owner is kept. */
  setClientMid(clientId: string, mid: number): Promise<void>
  /** The refusals recorded for these mids of the client (§4: a retry hears its first answer again). */
  listRefusals(clientId: string, mids: readonly number[]): Promise<PushRefusal[]>
  /**
   * Records refusals of the client's mutations, and forgets its refusals of mids at or below
   * `forgetThrough` (the window a retry can still name).
   */
  recordRefusals(clientId: string, refusals: readonly PushRefusal[], forgetThrough: number): Promise<void>
  /** The record's history entries with version > `sinceVersion`, oldest first (§5 base values). */
  listHistory(model: ModelDefinition, recordId: string, sinceVersion: number): Promise<HistoryEntry[]>
  /** Stores new conflicts (§5), as given (ids are set by the caller). */
  insertConflicts(conflicts: readonly Conflict[]): Promise<void>
  /** One conflict by id, locked until the transaction ends; undefined when none. */
  getConflict(id: string): Promise<Conflict | undefined>
  /** Replaces a stored conflict (matched by id) — used to mark it resolved. */
  updateConflict(conflict: Conflict): Promise<void>
  /**
   * Accounts on (§9): these users' rows as this transaction sees them — their scope epoch (raised
   * by every change of their memberships) and admin flag — locked against such changes until it
   * ends (PostgreSQL `FOR SHARE`: a membership change commits before this read, or waits for this
   * transaction). Users without a row are left out.
   */
  lockUsers(userIds: readonly string[]): Promise<Map<string, LockedUser>>
  /** Accounts on: the organizations the user belongs to as this transaction sees them, by name (as at sign-in). */
  userOrgIds(userId: string): Promise<string[]>
}

/** A user's row as a write transaction locked it (`StorageTx.lockUsers`). */
export interface LockedUser {
  scopeEpoch: number
  admin: boolean
}

/** A database holding Pulse's tables. */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres'
  /** What `migrate` would do to bring the tables in line with the schema. Changes nothing. */
  planMigration(schema: Schema, signal?: AbortSignal): Promise<MigrationPlan>
  /**
   * Brings the tables in line with the schema. Refuses (a `MigrationRefusedError` listing
   * the destructive steps, nothing applied) when a step would lose data, unless
   * `allowDataLoss`. Idempotent.
   */
  migrate(schema: Schema, options?: { allowDataLoss?: boolean; signal?: AbortSignal }): Promise<MigrationPlan>
  /**
   * Runs `fn` in one transaction: all of it commits or none of it does. Transactions do not
   * interleave their effects. A transient failure (serialization failure, deadlock, a
   * unique-key race on insert) re-runs `fn` from the start, a few times; so `fn` must have no
   * effects outside `tx`.
   */
  transaction<T>(fn: (tx: StorageTx) => Promise<T>, signal?: AbortSignal): Promise<T>
  /** One record by id, tombstones included; undefined when there is none. */
  getRecord(model: ModelDefinition, id: string, signal?: AbortSignal): Promise<StoredRecord | undefined>
  /** A page of records in order. */
  listRecords(model: ModelDefinition, query: ListQuery, signal?: AbortSignal): Promise<StoredRecord[]>
  /** A record's audit trail, oldest first. */
  listHistory(model: ModelDefinition, recordId: string, signal?: AbortSignal): Promise<HistoryEntry[]>
  /**
   * A page of `listRecords` bounded in bytes too (PROTOCOL.md §10): in order, at most
   * `query.limit` records, ending before the record that would take their estimated wire size
   * (`record-size.ts`) past `maxBytes`; a first record larger than that comes alone. Where the
   * page ends is decided before any record is loaded, and both reads see one snapshot.
   */
  listPage(model: ModelDefinition, query: ListQuery, maxBytes: number, signal?: AbortSignal): Promise<RecordPage>
  /** Records by id (tombstones included), without locking; absent ids are left out. */
  getRecords(model: ModelDefinition, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, StoredRecord>>
  /**
   * The estimated wire size in bytes (`record-size.ts`) of each record named, read without
   * loading its values; absent ids are left out. Pulls use it to end a page at a byte bound.
   */
  recordSizes(model: ModelDefinition, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, number>>
  /** Change-order entries after position `after` that pass `filter`, in order, at most `limit`. */
  readChanges(after: number, limit: number, filter?: ChangeFilter, signal?: AbortSignal): Promise<ChangeRow[]>
  /**
   * Deletes tombstones whose `deletedAt` is before `before` (ISO), with their change-order
   * entries and history, and raises the purge watermark to the highest position removed.
   * Returns how many records were purged.
   */
  purgeTombstones(before: string, signal?: AbortSignal): Promise<number>
  /** The purge watermark: cursors below it have missed purged deletions (§2 `cursor_expired`). 0 when nothing was purged. */
  purgedPosition(signal?: AbortSignal): Promise<number>
  /**
   * The head of the change order now (0 when empty): a committed position, and every position
   * at or below it is committed or will never be (docs/change-order.md). On PostgreSQL it stays
   * below a transaction that claimed positions until that transaction ends.
   */
  headPosition(signal?: AbortSignal): Promise<number>
  /** Conflicts, newest first. */
  listConflicts(query: ConflictQuery, signal?: AbortSignal): Promise<Conflict[]>
  /** Writes a row and reads it back; throws when the database cannot do both. */
  probe(signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

/**
 * Pulse's tables as one typed Kysely database, for stores beside the engine that keep their own
 * tables in it (accounts add theirs with `db.withTables`). Queries run on the `db` given, which
 * is bound to one connection for the length of `fn`; Kysely's own `transaction()` is refused.
 */
export interface SqlDatabase {
  /** Runs `fn` in one write transaction, as `Storage.transaction` does (re-run on a transient failure). */
  transaction<T>(fn: (db: Kysely<Database>) => Promise<T>, signal?: AbortSignal): Promise<T>
  /** Runs reads beside writers, never waiting for them (SQLite: on the reader connection). Only for reads. */
  read<T>(fn: (db: Kysely<Database>) => Promise<T>, signal?: AbortSignal): Promise<T>
}

/** A refused mutation of a client, as its answer said (§4, §7); or one that opened a conflict (code `conflict`, message its id). */
export interface PushRefusal {
  mid: number
  code: string
  message: string
  /** The field the answer named, if any. */
  field: string | null
}

/** A Storage on a SQL database, which other stores can share. */
export interface SqlStorage extends Storage {
  readonly sql: SqlDatabase
}

/** Thrown by `migrate` when steps would lose data and `allowDataLoss` was not given. */
export class MigrationRefusedError extends Error {
  override readonly name = 'MigrationRefusedError'
  readonly plan: MigrationPlan
  constructor(plan: MigrationPlan) {
    const lost = plan.steps.filter((s) => s.destructive)
    super(
      `migration refused: ${lost.length} step${lost.length === 1 ? '' : 's'} would lose data:\n` +
        lost.map((s) => `  - ${s.description}`).join('\n') +
        '\nrun `pulse migrate --allow-data-loss` to apply them anyway',
    )
    this.plan = plan
  }
}
