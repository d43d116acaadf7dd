/**
 * `decide`: what one op does to the state it finds (PROTOCOL.md §4, §5, §8, §10). Pure: no
 * reads, no writes, no clock or randomness of its own (the context brings the time and makes
 * ids); the write path loads what it needs first (`historySince` says when that includes
 * history) and `persist` writes what it returns.
 */
import { type Conflict, isPulseError, type ModelDefinition, PulseError, type VectorClock, validateUpdate } from '@pulse/core'
import type { HistoryEntry, HistoryOp, StoredRecord } from '../storage/storage.ts'
import { advanceClock, checkClockClaim, orderOfEdit, SERVER_CLOCK_ID } from './clock-rules.ts'
import type { Actor } from './context.ts'
import type { Accepted, Current, DecideContext, Decision, WriteStatus } from './decision.ts'
import { sameValue } from './records.ts'
import { refusalOf } from './refusal.ts'
import { type ManualFields, needsHistory, resolveUpdate } from './resolve.ts'
import { assignOwnership, checkOwnershipChange, inScope, mayWrite } from './scope.ts'
import type { PreparedOp, SyncEdit } from './write-op.ts'

type CreateOp = Extract<PreparedOp, { kind: 'create' }>
type ResolveOp = Extract<PreparedOp, { kind: 'resolve' }>

/** An update (or a revive, or a person's resolution) of a record the caller may see. */
interface Change {
  model: ModelDefinition
  existing: StoredRecord
  data: Record<string, unknown>
  ifVersion: number | undefined
  sync: SyncEdit | undefined
  op: 'update' | 'resolve'
}

/**
 * Decides one op on the state it finds: a refusal (its error), or its status, the record to
 * answer with, and what to write. Every PulseError a check raises — of any copy of the package,
 * custom merge functions included — is this op's refusal; anything else is a fault and is thrown.
 */
export function decide(op: PreparedOp, current: Current, context: DecideContext): Decision {
  try {
    return decideOp(op, current, context)
  } catch (thrown) {
    return refusalOf(thrown)
  }
}

/**
 * §4 exactly once: the answer to a mutation whose mid was already recorded — not applied again,
 * answered with the server's state of its record when the caller may see it.
 */
export function duplicateOf(actor: Actor, model: ModelDefinition | undefined, record: StoredRecord | undefined): Accepted {
  const visible = model && record && inScope(actor, model, record) ? record : undefined
  return { ok: true, status: 'duplicate', record: visible }
}

/**
 * The version after which `decide` needs the record's history for this op (its `baseVersion`),
 * or undefined when it needs none: only a synced update of a record the caller may see, whose
 * clock is concurrent with the record's and which names a contested field (§5). Most pushes
 * follow the server's state and need no history read.
 */
export function historySince(op: PreparedOp, record: StoredRecord | undefined, context: DecideContext): number | undefined {
  if (op.kind === 'resolve' || op.kind === 'delete' || !op.sync || !record) return undefined
  if (!inScope(context.actor, op.model, record)) return undefined
  let data: Record<string, unknown>
  try {
    data = op.kind === 'update' ? op.values : namedValues(op, ownedValues(op, context.actor))
  } catch (thrown) {
    if (!isPulseError(thrown)) throw thrown
    return undefined // the op is refused (decide says so): it needs nothing more
  }
  return needsHistory(record, data, op.sync) ? (op.sync.baseVersion ?? 0) : undefined
}

function decideOp(op: PreparedOp, current: Current, c: DecideContext): Accepted {
  if (op.kind === 'resolve') return decideResolve(op, current, c)
  if (op.sync && op.sync.mid <= c.lastMid) {
    const refused = c.refusals?.get(op.sync.mid)
    if (refused) throw refused
    const answer = duplicateOf(c.actor, op.model, current.record)
    const conflict = c.conflicts?.get(op.sync.mid)
    // The conflict it opened, answered again while its record is the caller's to see (§4); a
    // conflict of another record (the mid reused by another store of the device) is not its answer.
    const own = conflict && conflict.model === op.model.name && conflict.recordId === answer.record?.id
    return own ? { ...answer, status: 'conflict', conflict } : answer
  }
  if (op.kind === 'create') return decideCreate(op, current, c)
  const { model, sync } = op
  const existing = current.record
  const visible = existing && inScope(c.actor, model, existing) ? existing : undefined
  // §8: out of scope answers exactly like absent; §5: a pushed clock is checked against the
  // record only once the caller may see it.
  if (!visible) throw notFound(model, op.id)
  if (sync) checkClockClaim(sync.vclock, visible.vclock, sync.deviceId)
  if (op.kind === 'update') {
    if (visible.deletedAt !== null && !(sync && model.onDeleted === 'updateRevives')) {
      if (sync) return stale(visible)
      throw notFound(model, op.id)
    }
    return decideChange({ model, existing: visible, data: op.values, ifVersion: op.ifVersion, sync, op: 'update' }, current.history, c)
  }
  if (visible.deletedAt !== null) {
    if (sync) return stale(visible)
    throw notFound(model, op.id)
  }
  return decideDelete(model, visible, op.ifVersion, sync, c)
}

/** A create's values with the owner and organization filled from the caller (§9); throws when they point elsewhere. */
function ownedValues(op: CreateOp, actor: Actor): Record<string, unknown> {
  const values = { ...op.values }
  assignOwnership(actor, op.model, values)
  return values
}

/** The fields a create named: what it updates when its id exists (§4). */
function namedValues(op: CreateOp, values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries([...op.given].map((k) => [k, values[k]]))
}

function decideCreate(op: CreateOp, current: Current, c: DecideContext): Accepted {
  const { model, sync } = op
  const values = ownedValues(op, c.actor)
  const existing = op.id === undefined ? undefined : current.record
  if (existing) {
    // §4: a create with an id that exists is an update when the caller may write the record.
    // §8: ids are one namespace, so this answer must differ from an absent record's; it says
    // only that the id is in use, the same for a live record and a tombstone, and is given
    // before the clock is looked at (which would say more).
    if (!inScope(c.actor, model, existing)) throw new PulseError('id_taken', `the id ${existing.id} is taken`)
    if (sync) checkClockClaim(sync.vclock, existing.vclock, sync.deviceId)
    if (existing.deletedAt !== null && model.onDeleted === 'deleteWins') {
      if (sync) return stale(existing)
      throw new PulseError('id_taken', `the ${model.name} with id ${existing.id} was deleted; create it with a new id`)
    }
    return decideChange({ model, existing, data: namedValues(op, values), ifVersion: undefined, sync, op: 'update' }, current.history, c)
  }
  // A new record has seen no one's changes: a pushed create may count only its own device's.
  if (sync) checkClockClaim(sync.vclock, {}, sync.deviceId)
  const changes: HistoryEntry['changes'] = {}
  for (const [name, value] of Object.entries(values)) changes[name] = { old: null, new: value }
  const record: StoredRecord = {
    id: op.id ?? c.newId(),
    version: 1,
    vclock: advanceClock({}, writerOf(sync)),
    createdAt: c.nowIso,
    updatedAt: c.nowIso,
    deletedAt: null,
    // Per-field versions list only fields changed after the create: an absent field is at
    // version 1, and an update's baseVersion is at least 1, so it is never contested (§5).
    fieldVersions: {},
    values,
  }
  checkWrite(c.actor, model, record)
  const history = historyEntry('create', model, record, changes, sync?.at ?? c.serverAt, c)
  return { ok: true, status: 'applied', record, change: { model, before: undefined, after: record, history } }
}

/** An update of a record the caller may see (a revive, when it is a tombstone). */
function decideChange(change: Change, history: readonly HistoryEntry[], c: DecideContext): Accepted {
  const { model, existing, data, sync } = change
  checkVersion(model, existing, change.ifVersion)
  checkOwnershipChange(c.actor, model, data)
  checkWrite(c.actor, model, existing)
  let values = data
  let vclock: VectorClock
  let status: WriteStatus = 'applied'
  let conflict: Conflict | undefined
  if (sync) {
    const resolution = resolveUpdate(model, existing, data, sync, history)
    if (resolution.kind === 'stale') return stale(existing)
    if (resolution.status !== 'applied') values = validateUpdate(model, resolution.values) // custom merges must still fit the field
    vclock = resolution.vclock
    status = resolution.status
    if (resolution.manual) conflict = openConflict(model, existing.id, resolution.manual, c)
  } else {
    vclock = advanceClock(existing.vclock, SERVER_CLOCK_ID)
  }
  const opened = conflict ? ({ conflict, conflictWrite: 'insert' } as const) : {}
  const revive = existing.deletedAt !== null
  const changes: HistoryEntry['changes'] = {}
  for (const [name, value] of Object.entries(values)) {
    if (!sameValue(existing.values[name], value)) changes[name] = { old: existing.values[name] ?? null, new: value }
  }
  const clockMoved = !sameValue(vclock, existing.vclock)
  if (!revive && Object.keys(changes).length === 0 && (!sync || !clockMoved)) {
    return { ok: true, status: sync ? status : 'unchanged', record: existing, ...opened }
  }
  const version = existing.version + 1
  const next: StoredRecord = {
    ...existing,
    version,
    vclock,
    updatedAt: c.nowIso,
    deletedAt: null,
    fieldVersions: { ...existing.fieldVersions },
    values: { ...existing.values },
  }
  for (const [name, { new: value }] of Object.entries(changes)) {
    next.fieldVersions[name] = version
    next.values[name] = value
  }
  checkWrite(c.actor, model, next)
  const entry = historyEntry(revive ? 'restore' : change.op, model, next, changes, sync?.at ?? c.serverAt, c)
  return { ok: true, status, record: next, change: { model, before: existing, after: next, history: entry }, ...opened }
}

function decideDelete(
  model: ModelDefinition,
  existing: StoredRecord,
  ifVersion: number | undefined,
  sync: SyncEdit | undefined,
  c: DecideContext,
): Accepted {
  checkVersion(model, existing, ifVersion)
  checkWrite(c.actor, model, existing)
  let status: WriteStatus = 'applied'
  if (sync) {
    const order = orderOfEdit(sync.vclock, existing.vclock, sync.deviceId)
    if (order === 'EQUAL' || order === 'BEFORE') return stale(existing)
    // §5: a delete concurrent with an update loses under updateRevives, wins otherwise.
    if (order === 'CONCURRENT' && model.onDeleted === 'updateRevives') return stale(existing)
    if (order === 'CONCURRENT') status = 'merged'
  }
  const vclock = advanceClock(existing.vclock, writerOf(sync))
  const next: StoredRecord = { ...existing, version: existing.version + 1, vclock, updatedAt: c.nowIso, deletedAt: c.nowIso }
  const history = historyEntry('delete', model, next, {}, sync?.at ?? c.serverAt, c)
  return { ok: true, status, record: next, change: { model, before: existing, after: next, history } }
}

/**
 * §5: a person's choice for an open conflict, applied as a new version (a plain write: it moves
 * the `server` entry). The conflict is settled by whoever may read its record now (§8, and
 * write it, checked by the change): for anyone else, it does not exist.
 */
function decideResolve(op: ResolveOp, current: Current, c: DecideContext): Accepted {
  const { conflict, record: existing } = current
  const absent = () => new PulseError('not_found', `no conflict with id ${op.conflictId}`)
  const model = conflict ? c.schema.models.get(conflict.model) : undefined
  if (!conflict || !model) throw absent()
  if (!existing || !inScope(c.actor, model, existing)) throw absent()
  if (conflict.status !== 'open') throw new PulseError('version_conflict', 'the conflict is already resolved')
  if (existing.deletedAt !== null) throw notFound(model, conflict.recordId)
  const chosen = op.choice === 'local' ? conflict.local : op.choice === 'remote' ? conflict.remote : op.data
  if (op.choice === 'custom' && (typeof chosen !== 'object' || chosen === null)) {
    throw new PulseError('validation_failed', 'a custom resolution needs data: the values to keep', [
      { field: 'data', code: 'required', message: 'is required' },
    ])
  }
  const values = validateUpdate(model, chosen)
  const applied = decideChange({ model, existing, data: values, ifVersion: undefined, sync: undefined, op: 'resolve' }, [], c)
  const resolution = { choice: op.choice, data: values, resolvedAt: c.nowIso, resolvedBy: c.actor.userId }
  const settled: Conflict = { ...conflict, status: 'resolved', resolution }
  return { ...applied, status: 'applied', conflict: settled, conflictWrite: 'update' }
}

function openConflict(model: ModelDefinition, recordId: string, manual: ManualFields, c: DecideContext): Conflict {
  return {
    id: c.newId(),
    model: model.name,
    recordId,
    fields: manual.fields,
    base: manual.base,
    local: manual.local,
    remote: manual.remote,
    clientId: c.clientId,
    userId: c.actor.userId,
    createdAt: c.nowIso,
    status: 'open',
  }
}

function historyEntry(
  op: HistoryOp,
  model: ModelDefinition,
  next: StoredRecord,
  changes: HistoryEntry['changes'],
  at: string,
  c: DecideContext,
): HistoryEntry | undefined {
  if (!model.history) return undefined
  const { actor, requestId, clientId } = c
  return {
    model: model.name,
    recordId: next.id,
    version: next.version,
    op,
    changes,
    userId: actor.userId,
    deviceId: actor.deviceId ?? clientId,
    requestId,
    at,
  }
}

/** §5 clock ownership: a push moves its device's entry, every other write the server's. */
function writerOf(sync: SyncEdit | undefined): string {
  return sync?.deviceId ?? SERVER_CLOCK_ID
}

function stale(record: StoredRecord): Accepted {
  return { ok: true, status: 'stale', record }
}

function notFound(model: ModelDefinition, id: string): PulseError {
  return new PulseError('not_found', `no ${model.name} with id ${id}`)
}

/** §10 If-Match: a plain write names the version it expects. */
function checkVersion(model: ModelDefinition, record: StoredRecord, ifVersion: number | undefined): void {
  if (ifVersion !== undefined && ifVersion !== record.version) {
    throw new PulseError('version_conflict', `the ${model.name} is at version ${record.version}, not ${ifVersion}`)
  }
}

/** §8: the model's write rule (and scope) must allow the record as it is and as it would be. */
function checkWrite(actor: Actor, model: ModelDefinition, record: StoredRecord): void {
  if (!mayWrite(actor, model, record)) throw new PulseError('forbidden', `you may not write this ${model.name}`)
}
