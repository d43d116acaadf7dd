/**
 * The one write path (ARCHITECTURE.md). Every write — REST, push, GraphQL, bulk ingest,
 * conflict resolution, edge pull — comes here: ops are validated before any transaction
 * (reject early), then one transaction loads the records they name, applies each (scope,
 * version, clock, per-field versions, tombstones, conflicts), records the client's `lastMid`,
 * appends history and the change order. Listeners hear about the changes only after commit.
 */
import {
  type Conflict,
  checkClockText,
  clampAt,
  type Hlc,
  isUuid,
  PulseError,
  parseHlc,
  type Schema,
  type VectorClock,
  validateCreate,
  validateUpdate,
} from '@pulse/core'
import type { Storage, StorageTx, StoredRecord } from '../storage/storage.ts'
import { type Applied, Batch, type CommittedChange, type Prepared } from './batch.ts'
import type { Context } from './context.ts'
import type { SyncEdit } from './resolve.ts'

export { type CommittedChange, SERVER_CLOCK_ID } from './batch.ts'

/** Sync metadata of a pushed mutation (§4), absent for plain writes. */
export interface SyncMeta {
  mid: number
  baseVersion?: number
  vclock: VectorClock
  at: string
}

/** One write of a batch. `data` is unvalidated input: the engine validates it. */
export type WriteOp =
  | { op: 'create'; model: string; id?: string; data: unknown; sync?: SyncMeta }
  | { op: 'update'; model: string; id: string; data: unknown; ifVersion?: number; sync?: SyncMeta }
  | { op: 'delete'; model: string; id: string; ifVersion?: number; sync?: SyncMeta }
  | { op: 'resolve'; conflictId: string; choice: 'local' | 'remote' | 'custom'; data?: unknown; model?: undefined; sync?: undefined }

/** What one write did, or why it was refused. */
export type WriteOutcome =
  | { ok: true; status: Applied['status']; record: StoredRecord | undefined; conflict?: Conflict }
  | { ok: false; error: PulseError }

/** The outcomes of a batch, and the device's last recorded mutation id after it (0 without a device). */
export interface WriteResult {
  outcomes: WriteOutcome[]
  lastMid: number
}

/** What the write path needs. */
export interface WriteDeps {
  storage: Storage
  schema: Schema
  /** The clock, for tests. */
  now(): Date
  /** The server's hybrid logical clock (§4): the `at` of plain writes and the bound of pushed ones. */
  hlc: Hlc
  /** Called after commit with the batch's changes. */
  onCommit(changes: readonly CommittedChange[]): void
}

/** Options of `applyWrites`. */
export interface WriteOptions {
  /**
   * All or nothing: the first refused write aborts the batch (nothing applied) and its error is
   * thrown. Otherwise each write gets its own outcome and refused ones do not stop the others.
   */
  atomic?: boolean
  /**
   * The pushing device (§4 exactly once): ops whose `sync.mid` is at most the last one recorded
   * for it answer `duplicate`; the batch's highest mid, refused ones included, is recorded in the
   * same transaction.
   */
  clientId?: string
  /**
   * Who pushes as `clientId` (`clientOwnerOf`): the first owner to push as a clientId keeps it,
   * and a push by another owner is refused `forbidden` before anything is read (§4). Null (the
   * system) uses any clientId and claims none.
   */
  clientOwner?: string | null
}

function asPulseError(error: unknown): PulseError {
  if (error instanceof PulseError) return error
  throw error
}

function checkId(id: unknown): string {
  if (!isUuid(id)) throw new PulseError('invalid_id', `"${String(id).slice(0, 64)}" is not a valid UUID`)
  return id.toLowerCase()
}

function checkIfVersion(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new PulseError('bad_request', 'a version is a positive integer')
  return v
}

/** Validates one op against its model: pure, before any transaction. */
function prepare(schema: Schema, op: WriteOp, sync: SyncEdit | undefined): Prepared {
  if (op.op === 'resolve') {
    if (!['local', 'remote', 'custom'].includes(op.choice)) throw new PulseError('bad_request', 'choice is local, remote or custom')
    return { kind: 'resolve', conflictId: checkId(op.conflictId), choice: op.choice, data: op.data }
  }
  const model = schema.model(op.model)
  const withSync = sync ? { sync } : {}
  switch (op.op) {
    case 'create': {
      const { id, values } = validateCreate(model, op.data)
      const pathId = op.id === undefined ? undefined : checkId(op.id)
      if (pathId !== undefined && id !== undefined && pathId !== id)
        throw new PulseError('bad_request', 'the id of the mutation and of its data differ')
      const given = new Set(Object.keys(op.data as object).filter((k) => model.specs.has(k)))
      return { kind: 'create', model, id: pathId ?? id, values, given, ...withSync }
    }
    case 'update':
      return {
        kind: 'update',
        model,
        id: checkId(op.id),
        values: validateUpdate(model, op.data),
        ifVersion: checkIfVersion(op.ifVersion),
        ...withSync,
      }
    case 'delete':
      return { kind: 'delete', model, id: checkId(op.id), ifVersion: checkIfVersion(op.ifVersion), ...withSync }
    default:
      throw new PulseError('bad_request', `unknown op "${String((op as { op: unknown }).op)}"`)
  }
}

function syncEdit(op: WriteOp, clientId: string | undefined, serverAt: string): SyncEdit | undefined {
  if (!op.sync) return undefined
  if (!clientId) throw new PulseError('bad_request', 'a synced write needs the clientId of its device')
  if (!parseHlc(op.sync.at)) throw new PulseError('bad_request', 'at is an ISO-8601 date-time with a zone')
  checkClockText(op.sync.vclock) // NUL or a lone surrogate: this mutation is refused, not the batch
  // §4: an `at` ahead of the server's HLC is clamped to it, so an edit stamped in the future
  // cannot beat edits that reach the server after it.
  return {
    mid: op.sync.mid,
    baseVersion: op.sync.baseVersion,
    vclock: op.sync.vclock,
    at: clampAt(op.sync.at, serverAt),
    deviceId: clientId,
  }
}

/**
 * §4: the client's last recorded mid, its row claimed for `owner` and locked until the
 * transaction ends (so two pushes of one client apply one after the other). A row another
 * owner holds answers `forbidden`, its lastMid unread by the caller.
 */
async function claimClient(tx: StorageTx, clientId: string, owner: string | null): Promise<number> {
  const row = await tx.claimClient(clientId, owner)
  if (owner !== null && row.owner !== null && row.owner !== owner) {
    throw new PulseError('forbidden', `the clientId "${clientId}" belongs to another service or device`)
  }
  return row.lastMid
}

/**
 * Applies a batch of writes in one transaction and returns one outcome per op, in order.
 * Invalid ops are refused before the transaction starts. With `atomic`, any refusal aborts the
 * whole batch and is thrown; a database failure always aborts the whole batch.
 */
export async function applyWrites(
  deps: WriteDeps,
  ctx: Context,
  ops: readonly WriteOp[],
  options: WriteOptions = {},
): Promise<WriteResult> {
  const now = deps.now()
  const serverAt = deps.hlc.tick()
  const prepared: (Prepared | PulseError)[] = ops.map((op) => {
    try {
      return prepare(deps.schema, op, syncEdit(op, options.clientId, serverAt))
    } catch (e) {
      const error = asPulseError(e)
      if (options.atomic) throw error
      return error
    }
  })
  const loadable = prepared.map((p) => (p instanceof PulseError ? undefined : p))
  if (loadable.every((p) => p === undefined) && !options.clientId)
    return { outcomes: prepared.map((p) => ({ ok: false, error: p as PulseError })), lastMid: 0 }

  const { outcomes, committed, lastMid } = await deps.storage.transaction(async (tx) => {
    // The client row first: pushes of one client queue here, before they lock any record.
    const lastMid = options.clientId ? await claimClient(tx, options.clientId, options.clientOwner ?? null) : 0
    const batch = new Batch(deps.schema, tx, ctx, now.toISOString(), serverAt, options.clientId ?? null)
    await batch.load(loadable)
    let highestMid = lastMid
    const results: WriteOutcome[] = []
    for (const [i, p] of prepared.entries()) {
      const mid = ops[i]?.sync?.mid
      if (mid !== undefined && mid <= lastMid) {
        // §4 exactly once: already applied (or refused) before; answer with the server's state.
        // A mutation refused before the transaction still names a record: answer with it too.
        const op = ops[i] as WriteOp
        const model = op.model === undefined ? undefined : deps.schema.models.get(op.model)
        const id = p instanceof PulseError ? ('id' in op && isUuid(op.id) ? op.id.toLowerCase() : undefined) : p.id
        results.push({ ok: true, status: 'duplicate', record: model && id ? await batch.peek(model, id) : undefined })
        continue
      }
      if (mid !== undefined) highestMid = Math.max(highestMid, mid)
      if (p instanceof PulseError) {
        results.push({ ok: false, error: p })
        continue
      }
      try {
        const { status, record, conflict } = await batch.apply(p)
        results.push({ ok: true, status, record, ...(conflict ? { conflict } : {}) })
      } catch (e) {
        const error = asPulseError(e)
        if (options.atomic) throw error
        results.push({ ok: false, error })
      }
    }
    if (options.clientId && highestMid > lastMid) await tx.setClientMid(options.clientId, highestMid)
    return { outcomes: results, committed: await batch.flush(), lastMid: highestMid }
  }, ctx.signal)
  if (committed.length > 0) deps.onCommit(committed)
  return { outcomes, lastMid }
}
