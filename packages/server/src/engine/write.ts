/**
 * The one write path (ARCHITECTURE.md): REST, push and conflict resolution all come here.
 *
 * 1. Check each op against its model, before any transaction (`checkOp`): refusals need no read.
 * 2. In one transaction: claim the pushing device's row (§4: its owner, its `lastMid`, locked).
 * 3. Read every record the ops name, locked, once (`BatchView`).
 * 4. `decide` each op in order on the state the ops before it left: a refusal, or what to write.
 * 5. Record the device's `lastMid` and `persist` the decisions: records, history, conflicts, the
 *    change order last. Listeners hear about the changes only after commit.
 */
import { type Conflict, ERROR_CODES, type ErrorCode, type Hlc, PulseError, type Schema, uuidv7 } from '@pulse/core'
import type { LockedUser, PushRefusal, Storage, StorageTx, StoredRecord } from '../storage/storage.ts'
import { type BatchView, createBatchView } from './batch.ts'
import type { Actor, Context } from './context.ts'
import { decide, duplicateOf, historySince } from './decide.ts'
import type { Current, DecideContext, Decision, WriteStatus } from './decision.ts'
import { type CommittedChange, persist } from './persist.ts'
import type { Refused } from './refusal.ts'
import { type Checked, checkOp, midOf, type PreparedOp, targetOf, type WriteOp } from './write-op.ts'

export type { CommittedChange } from './persist.ts'
export type { SyncMeta, WriteOp } from './write-op.ts'

/**
 * §8: the actor as this transaction sees it. A user's memberships are read when the request is
 * authenticated (a socket's, when it connected or last heard of a change); one that changed
 * since (the user's scope epoch raised) is read again here, and the user's row stays locked
 * until commit (`lockUsers`), so every write is judged by the memberships in force when it
 * commits. `locked`: the rows a group already locked. Undefined when the account is gone.
 */
async function actorNow(
  deps: WriteDeps,
  tx: StorageTx,
  actor: Actor,
  locked?: ReadonlyMap<string, LockedUser>,
): Promise<Actor | undefined> {
  const { userId } = actor
  if (userId === null || !deps.accounts) return actor
  const row = (locked?.has(userId) ? locked : await tx.lockUsers([userId])).get(userId)
  if (!row) return undefined
  if (row.scopeEpoch === actor.scopeEpoch && row.admin === actor.admin) return actor
  return { ...actor, orgIds: await tx.userOrgIds(userId), admin: row.admin, scopeEpoch: row.scopeEpoch }
}

/** The users whose rows a group's transaction locks at once, before its first request (`actorNow`). */
export function usersOf(contexts: readonly Context[]): string[] {
  return [...new Set(contexts.flatMap((c) => (c.actor.userId === null ? [] : [c.actor.userId])))]
}

/** What one write did, or why it was refused. */
export type WriteOutcome = { ok: true; status: WriteStatus; record: StoredRecord | undefined; conflict?: Conflict } | Refused

/** The outcomes of a batch, and the device's last recorded mutation id before and after it (0 without a device). */
export interface WriteResult {
  outcomes: WriteOutcome[]
  lastMid: number
  /** The last mid recorded before the batch: its mutations at or below it were answered again (§4). */
  previousMid: number
}

/** What the write path needs. */
export interface WriteDeps {
  /** Only its transactions: every read and write of a batch happens in one. */
  storage: Pick<Storage, 'transaction'>
  schema: Schema
  /** The clock, for tests. */
  now(): Date
  /** The server's hybrid logical clock (§4): the `at` of plain writes and the bound of pushed ones. */
  hlc: Hlc
  /** Called after commit with the batch's changes. */
  onCommit(changes: readonly CommittedChange[]): void
  /** Makes record and conflict ids (default: UUIDv7). */
  newId?: () => string
  /** Users are Pulse accounts: their memberships are judged at commit (`actorNow`). */
  accounts?: boolean
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
 * §4: a device's answers that a retry must hear again — refusals, and conflicts its edits
 * opened — are remembered for its last 10,000 mids (at most that many rows a device), so a retry
 * whose first answer was lost (the connection, a restart) hears the same answer, and the edit
 * is reported instead of answered `duplicate` as if it had simply landed.
 */
export const REFUSALS_KEPT = 10_000

/**
 * How an opened conflict is remembered among a device's refusals (`pulse_refusals`): this code,
 * and the conflict's id as the message. It is not an error code: no refusal carries it.
 */
const CONFLICT_OPENED = 'conflict'

/** The first answers recorded for the batch's mids the client has already sent. */
interface Remembered {
  refusals?: Map<number, PulseError>
  conflicts?: Map<number, Conflict>
}

/** The refusals and opened conflicts recorded for the batch's mids the client has already sent (none for a fresh batch). */
async function rememberedOf(tx: StorageTx, clientId: string, ops: readonly WriteOp[], lastMid: number): Promise<Remembered> {
  const seen = ops.flatMap((op) => {
    const mid = midOf(op)
    return mid !== undefined && mid <= lastMid ? [mid] : []
  })
  if (seen.length === 0) return {}
  const refusals = new Map<number, PulseError>()
  const conflicts = new Map<number, Conflict>()
  for (const r of await tx.listRefusals(clientId, seen)) {
    if (r.code === CONFLICT_OPENED) {
      const conflict = await tx.getConflict(r.message)
      if (conflict) conflicts.set(r.mid, conflict)
      continue
    }
    const code = Object.hasOwn(ERROR_CODES, r.code) ? (r.code as ErrorCode) : 'bad_request'
    refusals.set(r.mid, new PulseError(code, r.message, r.field === null ? undefined : [{ field: r.field, code, message: r.message }]))
  }
  return { ...(refusals.size > 0 ? { refusals } : {}), ...(conflicts.size > 0 ? { conflicts } : {}) }
}

/** The batch's refusals and opened conflicts of mids it sends for the first time, to remember. */
function newRemembered(ops: readonly WriteOp[], decisions: readonly Decision[], lastMid: number): PushRefusal[] {
  return decisions.flatMap((d, i): PushRefusal[] => {
    const mid = midOf(ops[i] as WriteOp)
    if (mid === undefined || mid <= lastMid) return []
    if (!d.ok) return [{ mid, code: d.error.code, message: d.error.message, field: d.error.details?.[0]?.field ?? null }]
    if (d.status === 'conflict' && d.conflict && d.conflictWrite === 'insert') {
      return [{ mid, code: CONFLICT_OPENED, message: d.conflict.id, field: null }]
    }
    return []
  })
}

function outcomeOf(decision: Decision): WriteOutcome {
  if (!decision.ok) return decision
  const { status, record, conflict } = decision
  return { ok: true, status, record, ...(conflict ? { conflict } : {}) }
}

/** What `decide` needs for one checked op: its record as the batch has left it, and history or conflict when it needs them. */
async function currentOf(view: BatchView, tx: StorageTx, op: PreparedOp, context: DecideContext): Promise<Current> {
  if (op.kind === 'resolve') {
    const conflict = await tx.getConflict(op.conflictId)
    const model = conflict ? context.schema.models.get(conflict.model) : undefined
    return { conflict, record: conflict && model ? await view.record(model, conflict.recordId) : undefined, history: [] }
  }
  const record = op.id === undefined ? undefined : await view.record(op.model, op.id)
  const since = historySince(op, record, context)
  return { record, history: since === undefined || !record ? [] : await view.history(op.model, record.id, since) }
}

/** Decides one op of a batch on the state the ops before it left. */
async function decideOne(view: BatchView, tx: StorageTx, op: WriteOp, checked: Checked, context: DecideContext): Promise<Decision> {
  if (checked.ok) return decide(checked.op, await currentOf(view, tx, checked.op, context), context)
  const mid = midOf(op)
  if (mid === undefined || mid > context.lastMid) return checked
  const refused = context.refusals?.get(mid)
  if (refused) return { ok: false, error: refused }
  // §4 exactly once: a mutation refused before the transaction still names a record; a retry
  // of it answers `duplicate` with that record, like any other.
  const target = targetOf(context.schema, op)
  return duplicateOf(context.actor, target?.model, target && (await view.record(target.model, target.id)))
}

/** Decides every op of a batch in order, inside its transaction; returns the decisions and the highest mid. */
async function decideBatch(
  tx: StorageTx,
  ops: readonly WriteOp[],
  checked: readonly Checked[],
  context: DecideContext,
): Promise<{ decisions: Decision[]; highestMid: number }> {
  const view = createBatchView(tx)
  await view.load(checked.flatMap((c) => (c.ok ? [c.op] : [])))
  let highestMid = context.lastMid
  const decisions: Decision[] = []
  for (const [i, op] of ops.entries()) {
    const mid = midOf(op)
    if (mid !== undefined && mid > highestMid) highestMid = mid
    const decision = await decideOne(view, tx, op, checked[i] as Checked, context)
    if (decision.ok && decision.change) view.stage(decision.change)
    decisions.push(decision)
  }
  return { decisions, highestMid }
}

/** A batch checked before its transaction: its clock readings and each op's check (see `prepareWrites`). */
export interface PreparedBatch {
  ops: readonly WriteOp[]
  options: WriteOptions
  nowIso: string
  serverAt: string
  checked: Checked[]
  atomic: boolean
}

/**
 * Step 1, before any transaction: the batch's clock readings and each op's check. With
 * `atomic`, the first refusal is thrown. Returns the outcomes instead when nothing needs a
 * transaction (every op refused, no device to record).
 */
export function prepareWrites(deps: WriteDeps, ops: readonly WriteOp[], options: WriteOptions): PreparedBatch | WriteResult {
  const nowIso = deps.now().toISOString()
  const serverAt = deps.hlc.tick()
  const atomic = options.atomic ?? false
  const checked = ops.map((op) => checkOp(deps.schema, op, options.clientId, serverAt))
  for (const c of checked) if (!c.ok && atomic) throw c.error
  if (!options.clientId && checked.every((c) => !c.ok)) return { outcomes: checked.map(outcomeOf), lastMid: 0, previousMid: 0 }
  return { ops, options, nowIso, serverAt, checked, atomic }
}

/** What a prepared batch did inside its transaction. */
export interface BatchDone {
  decisions: Decision[]
  committed: CommittedChange[]
  lastMid: number
  previousMid: number
}

/**
 * Steps 2 to 5 of one prepared batch inside `tx`: claim, read, decide, persist. An atomic
 * batch with a refused op writes nothing and returns that refusal (the first), for the caller
 * to throw: a refusal is told apart from a failure of the database, which is thrown.
 */
export async function writeBatch(
  deps: WriteDeps,
  tx: StorageTx,
  ctx: Context,
  batch: PreparedBatch,
  locked?: ReadonlyMap<string, LockedUser>,
): Promise<BatchDone | { refused: PulseError }> {
  const { ops, options, checked, atomic } = batch
  // The client row first: pushes of one client queue here, before they lock any record.
  const lastMid = options.clientId ? await claimClient(tx, options.clientId, options.clientOwner ?? null) : 0
  const actor = await actorNow(deps, tx, ctx.actor, locked)
  if (!actor) return { refused: new PulseError('unauthenticated', 'the account no longer exists') }
  const remembered = options.clientId ? await rememberedOf(tx, options.clientId, ops, lastMid) : {}
  const context: DecideContext = {
    schema: deps.schema,
    actor,
    requestId: ctx.requestId,
    clientId: options.clientId ?? null,
    lastMid,
    ...remembered,
    nowIso: batch.nowIso,
    serverAt: batch.serverAt,
    newId: deps.newId ?? (() => uuidv7()),
  }
  const { decisions, highestMid } = await decideBatch(tx, ops, checked, context)
  if (atomic) for (const d of decisions) if (!d.ok) return { refused: d.error }
  // §4: lastMid commits with the changes, refused mutations included.
  if (options.clientId && highestMid > lastMid) {
    await tx.setClientMid(options.clientId, highestMid)
    const answers = newRemembered(ops, decisions, lastMid)
    if (answers.length > 0) await tx.recordRefusals(options.clientId, answers, highestMid - REFUSALS_KEPT)
  }
  return { decisions, committed: await persist(decisions, tx), lastMid: highestMid, previousMid: lastMid }
}

/** The answer of a batch once its transaction committed (listeners already told). */
export function resultOf(done: BatchDone): WriteResult {
  return { outcomes: done.decisions.map(outcomeOf), lastMid: done.lastMid, previousMid: done.previousMid }
}

/**
 * Applies a batch of writes in one transaction and returns one outcome per op, in order.
 * Invalid ops are refused before the transaction starts. With `atomic`, any refusal aborts the
 * whole batch and is thrown; a database failure (or any error that is not a PulseError) always
 * aborts the whole batch.
 */
export async function applyWrites(
  deps: WriteDeps,
  ctx: Context,
  ops: readonly WriteOp[],
  options: WriteOptions = {},
): Promise<WriteResult> {
  const batch = prepareWrites(deps, ops, options)
  return 'outcomes' in batch ? batch : applyPrepared(deps, ctx, batch)
}

/** A prepared batch alone in its own transaction. */
export async function applyPrepared(deps: WriteDeps, ctx: Context, batch: PreparedBatch): Promise<WriteResult> {
  const done = await deps.storage.transaction((tx) => writeBatch(deps, tx, ctx, batch), ctx.signal)
  if ('refused' in done) throw done.refused
  if (done.committed.length > 0) deps.onCommit(done.committed)
  return resultOf(done)
}
