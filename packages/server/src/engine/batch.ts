/**
 * One batch of writes inside its transaction: the records it names (loaded once, locked),
 * the new states it makes, and the history and conflicts it records. Each op is decided here;
 * `write.ts` runs the transaction around it.
 */
import { type Conflict, type ModelDefinition, PulseError, type Schema, uuidv7, type VectorClock, validateUpdate } from '@pulse/core'
import type { ChangeEntry, HistoryEntry, StorageTx, StoredRecord } from '../storage/storage.ts'
import { advanceClock, checkClockClaim, orderOfEdit, SERVER_CLOCK_ID } from './clock-rules.ts'
import type { Context } from './context.ts'
import { sameValue } from './records.ts'
import { type ManualFields, needsHistory, resolveUpdate, type SyncEdit } from './resolve.ts'
import { assignOwnership, checkOwnershipChange, inScope, mayWrite, type RecordScope, scopeOf } from './scope.ts'

export { SERVER_CLOCK_ID } from './clock-rules.ts'

/** An op after validation, ready to apply. */
export type Prepared =
  | {
      kind: 'create'
      model: ModelDefinition
      id: string | undefined
      values: Record<string, unknown>
      given: ReadonlySet<string>
      sync?: SyncEdit
    }
  | { kind: 'update'; model: ModelDefinition; id: string; values: Record<string, unknown>; ifVersion: number | undefined; sync?: SyncEdit }
  | { kind: 'delete'; model: ModelDefinition; id: string; ifVersion: number | undefined; sync?: SyncEdit }
  | { kind: 'resolve'; model?: undefined; id?: undefined; conflictId: string; choice: 'local' | 'remote' | 'custom'; data: unknown }

/** The status of an op that was not refused. */
export type AppliedStatus = 'applied' | 'unchanged' | 'merged' | 'conflict' | 'stale' | 'duplicate'

/** What one op did. */
export interface Applied {
  status: AppliedStatus
  model: ModelDefinition
  /** The record's state after the op (for stale and duplicate: the server's state, if any). */
  record: StoredRecord | undefined
  conflict?: Conflict
}

/** A committed change, as listeners (the bus, live streams) receive it. */
export interface CommittedChange {
  model: ModelDefinition
  record: StoredRecord
  /** Position in the change order. */
  seq: number
  /**
   * Set on a removal (§8): the record left the scope named here (its earlier owner or
   * organization); readers there drop it. The record's own entry follows with its new scope.
   */
  removedFrom?: RecordScope
}

interface Slot {
  model: ModelDefinition
  before: StoredRecord | undefined
  current: StoredRecord | undefined
}

function notFound(model: ModelDefinition, id: string): PulseError {
  return new PulseError('not_found', `no ${model.name} with id ${id}`)
}

function checkVersion(model: ModelDefinition, record: StoredRecord, ifVersion: number | undefined): void {
  if (ifVersion !== undefined && ifVersion !== record.version) {
    throw new PulseError('version_conflict', `the ${model.name} is at version ${record.version}, not ${ifVersion}`)
  }
}

/** The state of one batch inside its transaction. */
export class Batch {
  private readonly slots = new Map<string, Slot>()
  private readonly history: HistoryEntry[] = []
  private readonly conflicts: Conflict[] = []

  constructor(
    private readonly schema: Schema,
    private readonly tx: StorageTx,
    private readonly ctx: Context,
    private readonly nowIso: string,
    /** The server's HLC time of this batch: the `at` of its plain writes, the bound of pushed ones (§4). */
    private readonly serverAt: string,
    private readonly clientId: string | null,
  ) {}

  private slot(model: ModelDefinition, id: string): Slot {
    const key = `${model.name}\u0000${id}`
    let s = this.slots.get(key)
    if (!s) {
      s = { model, before: undefined, current: undefined }
      this.slots.set(key, s)
    }
    return s
  }

  /** The record's state now (as this batch has left it), without a read. */
  current(model: ModelDefinition, id: string | undefined): StoredRecord | undefined {
    return id === undefined ? undefined : this.slot(model, id).current
  }

  /** The record's state now, read if the batch has not loaded it, when the caller may see it. */
  async peek(model: ModelDefinition, id: string): Promise<StoredRecord | undefined> {
    const s = this.slot(model, id)
    if (!s.before && !s.current) {
      s.before = (await this.tx.getRecords(model, [id])).get(id)
      s.current = s.before
    }
    return s.current && inScope(this.ctx.actor, model, s.current) ? s.current : undefined
  }

  /** Loads every record the batch names, locked, in one read per model. */
  async load(prepared: readonly (Prepared | undefined)[]): Promise<void> {
    const ids = new Map<ModelDefinition, Set<string>>()
    for (const p of prepared) {
      if (!p?.model || !p.id) continue
      let set = ids.get(p.model)
      if (!set) {
        set = new Set()
        ids.set(p.model, set)
      }
      set.add(p.id)
    }
    for (const [model, set] of ids) {
      const found = await this.tx.getRecords(model, [...set])
      for (const id of set) {
        const s = this.slot(model, id)
        s.before = found.get(id)
        s.current = s.before
      }
    }
  }

  private record(op: HistoryEntry['op'], model: ModelDefinition, next: StoredRecord, changes: HistoryEntry['changes'], at: string): void {
    this.slot(model, next.id).current = next
    if (!model.history) return
    const { actor, requestId } = this.ctx
    this.history.push({
      model: model.name,
      recordId: next.id,
      version: next.version,
      op,
      changes,
      userId: actor.userId,
      deviceId: actor.deviceId ?? this.clientId,
      requestId,
      at,
    })
  }

  /** §5 clock ownership: a push moves its device's entry, every other write the server's. */
  private writerOf(sync: SyncEdit | undefined): string {
    return sync?.deviceId ?? SERVER_CLOCK_ID
  }

  /** §8: the model's write rule (and scope) must allow the record as it is and as it would be. */
  private checkWrite(model: ModelDefinition, record: StoredRecord): void {
    if (!mayWrite(this.ctx.actor, model, record)) throw new PulseError('forbidden', `you may not write this ${model.name}`)
  }

  /** Applies one op; throws a PulseError when it is refused (the caller decides what that aborts). */
  async apply(p: Prepared): Promise<Applied> {
    if (p.kind === 'create') return this.create(p)
    if (p.kind === 'resolve') return this.resolve(p)
    const existing = this.slot(p.model, p.id).current
    const visible = existing && inScope(this.ctx.actor, p.model, existing) ? existing : undefined
    // §5: a pushed clock is checked against the record only once the caller may see it.
    if (visible && p.sync) checkClockClaim(p.sync.vclock, visible.vclock, p.sync.deviceId)
    if (p.kind === 'update') {
      if (!visible) throw notFound(p.model, p.id)
      if (visible.deletedAt !== null && !(p.sync && p.model.onDeleted === 'updateRevives')) {
        if (p.sync) return { status: 'stale', model: p.model, record: visible }
        throw notFound(p.model, p.id)
      }
      return this.change(p.model, visible, p.values, p.ifVersion, p.sync)
    }
    if (!visible) throw notFound(p.model, p.id)
    if (visible.deletedAt !== null) {
      if (p.sync) return { status: 'stale', model: p.model, record: visible }
      throw notFound(p.model, p.id)
    }
    return this.remove(p.model, visible, p.ifVersion, p.sync)
  }

  private async create(p: Extract<Prepared, { kind: 'create' }>): Promise<Applied> {
    const values = { ...p.values }
    assignOwnership(this.ctx.actor, p.model, values)
    const id = p.id ?? uuidv7()
    const existing = this.slot(p.model, id).current
    if (existing) {
      // §4: a create with an id that exists is an update when the caller may write the record.
      // §8: ids are one namespace, so this answer must differ from an absent record's; it says
      // only that the id is in use, the same for a live record and a tombstone, and is given
      // before the clock is looked at (which would say more).
      if (!inScope(this.ctx.actor, p.model, existing)) throw new PulseError('id_taken', `the id ${id} is taken`)
      if (p.sync) checkClockClaim(p.sync.vclock, existing.vclock, p.sync.deviceId)
      if (existing.deletedAt !== null && p.model.onDeleted === 'deleteWins') {
        if (p.sync) return { status: 'stale', model: p.model, record: existing }
        throw new PulseError('id_taken', `the ${p.model.name} with id ${id} was deleted; create it with a new id`)
      }
      const data = Object.fromEntries([...p.given].map((k) => [k, values[k]]))
      return this.change(p.model, existing, data, undefined, p.sync)
    }
    const at = p.sync?.at ?? this.serverAt
    // A new record has seen no one's changes: a pushed create may count only its own device's.
    if (p.sync) checkClockClaim(p.sync.vclock, {}, p.sync.deviceId)
    // Per-field versions list only fields changed after the create: an absent field is at
    // version 1, and an update's baseVersion is at least 1, so it is never contested (§5).
    const fieldVersions: Record<string, number> = {}
    const changes: HistoryEntry['changes'] = {}
    for (const [name, value] of Object.entries(values)) changes[name] = { old: null, new: value }
    const record: StoredRecord = {
      id,
      version: 1,
      vclock: advanceClock({}, this.writerOf(p.sync)),
      createdAt: this.nowIso,
      updatedAt: this.nowIso,
      deletedAt: null,
      fieldVersions,
      values,
    }
    this.checkWrite(p.model, record)
    this.record('create', p.model, record, changes, at)
    return { status: 'applied', model: p.model, record }
  }

  /** An update (a revive, when `existing` is a tombstone) of a record the caller may write. */
  private async change(
    model: ModelDefinition,
    existing: StoredRecord,
    data: Record<string, unknown>,
    ifVersion: number | undefined,
    sync: SyncEdit | undefined,
    op: 'update' | 'resolve' = 'update',
  ): Promise<Applied> {
    checkVersion(model, existing, ifVersion)
    checkOwnershipChange(this.ctx.actor, model, data)
    this.checkWrite(model, existing)
    let values = data
    let vclock: VectorClock
    let status: AppliedStatus = 'applied'
    let conflict: Conflict | undefined
    if (sync) {
      const since = sync.baseVersion ?? 0
      // Earlier mutations of this same batch are in the buffer, not yet in the table.
      const buffered = this.history.filter((h) => h.model === model.name && h.recordId === existing.id && h.version > since)
      const history = needsHistory(existing, data, sync) ? [...(await this.tx.listHistory(model, existing.id, since)), ...buffered] : []
      const resolution = resolveUpdate(model, existing, data, sync, history)
      if (resolution.kind === 'stale') return { status: 'stale', model, record: existing }
      if (resolution.status !== 'applied') values = validateUpdate(model, resolution.values) // custom merges must still fit the field
      vclock = resolution.vclock
      status = resolution.status
      if (resolution.manual) conflict = this.openConflict(model, existing.id, resolution.manual)
    } else {
      vclock = advanceClock(existing.vclock, SERVER_CLOCK_ID)
    }
    const revive = existing.deletedAt !== null
    const changes: HistoryEntry['changes'] = {}
    for (const [name, value] of Object.entries(values)) {
      if (!sameValue(existing.values[name], value)) changes[name] = { old: existing.values[name] ?? null, new: value }
    }
    const clockMoved = !sameValue(vclock, existing.vclock)
    if (!revive && Object.keys(changes).length === 0 && (!sync || !clockMoved)) {
      return { status: sync ? status : 'unchanged', model, record: existing, ...(conflict ? { conflict } : {}) }
    }
    const version = existing.version + 1
    const fieldVersions = { ...existing.fieldVersions }
    const next: StoredRecord = {
      ...existing,
      version,
      vclock,
      updatedAt: this.nowIso,
      deletedAt: null,
      fieldVersions,
      values: { ...existing.values },
    }
    for (const [name, c] of Object.entries(changes)) {
      fieldVersions[name] = version
      next.values[name] = c.new
    }
    this.checkWrite(model, next)
    this.record(revive ? 'restore' : op, model, next, changes, sync?.at ?? this.serverAt)
    return { status, model, record: next, ...(conflict ? { conflict } : {}) }
  }

  private async remove(
    model: ModelDefinition,
    existing: StoredRecord,
    ifVersion: number | undefined,
    sync: SyncEdit | undefined,
  ): Promise<Applied> {
    checkVersion(model, existing, ifVersion)
    this.checkWrite(model, existing)
    let status: AppliedStatus = 'applied'
    if (sync) {
      const order = orderOfEdit(sync.vclock, existing.vclock, sync.deviceId)
      if (order === 'EQUAL' || order === 'BEFORE') return { status: 'stale', model, record: existing }
      // §5: a delete concurrent with an update loses under updateRevives, wins otherwise.
      if (order === 'CONCURRENT' && model.onDeleted === 'updateRevives') return { status: 'stale', model, record: existing }
      if (order === 'CONCURRENT') status = 'merged'
    }
    const vclock = advanceClock(existing.vclock, this.writerOf(sync))
    const next: StoredRecord = { ...existing, version: existing.version + 1, vclock, updatedAt: this.nowIso, deletedAt: this.nowIso }
    this.record('delete', model, next, {}, sync?.at ?? this.serverAt)
    return { status, model, record: next }
  }

  /**
   * §5: a person's choice for an open conflict, applied as a new version and recorded. The
   * conflict is settled by whoever may write its record now (§8): for anyone else, it does not
   * exist.
   */
  private async resolve(p: Extract<Prepared, { kind: 'resolve' }>): Promise<Applied> {
    const conflict = await this.tx.getConflict(p.conflictId)
    const { actor } = this.ctx
    const absent = () => new PulseError('not_found', `no conflict with id ${p.conflictId}`)
    const model = conflict ? this.schema.models.get(conflict.model) : undefined
    if (!conflict || !model) throw absent()
    const s = this.slot(model, conflict.recordId)
    if (!s.before && !s.current) {
      s.before = (await this.tx.getRecords(model, [conflict.recordId])).get(conflict.recordId)
      s.current = s.before
    }
    const existing = s.current
    if (!existing || !inScope(actor, model, existing)) throw absent()
    if (conflict.status !== 'open') throw new PulseError('version_conflict', 'the conflict is already resolved')
    if (existing.deletedAt !== null) throw notFound(model, conflict.recordId)
    const chosen = p.choice === 'local' ? conflict.local : p.choice === 'remote' ? conflict.remote : p.data
    if (p.choice === 'custom' && (typeof chosen !== 'object' || chosen === null)) {
      throw new PulseError('validation_failed', 'a custom resolution needs data: the values to keep', [
        { field: 'data', code: 'required', message: 'is required' },
      ])
    }
    const values = validateUpdate(model, chosen)
    const applied = await this.change(model, existing, values, undefined, undefined, 'resolve')
    const resolved: Conflict = {
      ...conflict,
      status: 'resolved',
      resolution: { choice: p.choice, data: values, resolvedAt: this.nowIso, resolvedBy: actor.userId },
    }
    await this.tx.updateConflict(resolved)
    return { ...applied, status: 'applied', conflict: resolved }
  }

  private openConflict(model: ModelDefinition, recordId: string, manual: ManualFields): Conflict {
    const conflict: Conflict = {
      id: uuidv7(),
      model: model.name,
      recordId,
      fields: manual.fields,
      base: manual.base,
      local: manual.local,
      remote: manual.remote,
      clientId: this.clientId,
      userId: this.ctx.actor.userId,
      createdAt: this.nowIso,
      status: 'open',
    }
    this.conflicts.push(conflict)
    return conflict
  }

  /** Writes final states, history, conflicts and the change order; returns the changes. */
  async flush(): Promise<CommittedChange[]> {
    const inserts = new Map<ModelDefinition, StoredRecord[]>()
    const updates = new Map<ModelDefinition, StoredRecord[]>()
    const changed: Omit<CommittedChange, 'seq'>[] = []
    for (const s of this.slots.values()) {
      if (!s.current || s.current === s.before) continue
      const target = s.before ? updates : inserts
      let list = target.get(s.model)
      if (!list) {
        list = []
        target.set(s.model, list)
      }
      list.push(s.current)
      if (s.before) {
        // §8: a record moved to another owner or organization reaches its old scope as a removal.
        const was = scopeOf(s.model, s.before.values)
        const now = scopeOf(s.model, s.current.values)
        if (was.ownerId !== now.ownerId || was.orgId !== now.orgId) changed.push({ model: s.model, record: s.before, removedFrom: was })
      }
      changed.push({ model: s.model, record: s.current })
    }
    if (this.conflicts.length > 0) await this.tx.insertConflicts(this.conflicts)
    if (changed.length === 0) return []
    for (const [model, list] of inserts) await this.tx.insertRecords(model, list)
    for (const [model, list] of updates) await this.tx.updateRecords(model, list)
    if (this.history.length > 0) await this.tx.appendHistory(this.history)
    const entries: ChangeEntry[] = changed.map(({ model, record, removedFrom }) => ({
      model: model.name,
      recordId: record.id,
      version: record.version,
      ...(removedFrom ?? scopeOf(model, record.values)),
      deleted: record.deletedAt !== null,
      ...(removedFrom ? { removed: true } : {}),
    }))
    // §2: the change order is appended last, so positions become visible in commit order.
    const seqs = await this.tx.appendChanges(entries)
    return changed.map((c, i) => ({ ...c, seq: seqs[i] ?? 0 }))
  }
}
