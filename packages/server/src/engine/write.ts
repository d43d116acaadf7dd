/**
 * The one write path (ARCHITECTURE.md). Every write — REST, push, GraphQL, bulk ingest,
 * conflict resolution, edge pull — comes here: one transaction that validates, checks scope,
 * bumps version and clock, sets timestamps and per-field versions, soft-deletes, appends
 * history and the change order. Listeners hear about the changes only after commit.
 */
import { isUuid, type ModelDefinition, PulseError, type Schema, uuidv7, validateCreate, validateUpdate } from '@pulse/core'
import type { ChangeEntry, HistoryEntry, Storage, StoredRecord, StorageTx } from '../storage/storage.ts'
import type { Context } from './context.ts'
import { sameValue } from './records.ts'
import { assignOwnership, checkOwnershipChange, inScope } from './scope.ts'

/** One write of a batch. `data` is unvalidated input: the engine validates it. */
export type WriteOp =
  | { op: 'create'; model: string; id?: string; data: unknown }
  | { op: 'update'; model: string; id: string; data: unknown; ifVersion?: number }
  | { op: 'delete'; model: string; id: string; ifVersion?: number }

/** What one write did: a new state, no change, or why it was refused. */
export type WriteOutcome =
  | { ok: true; status: 'applied' | 'unchanged'; model: ModelDefinition; record: StoredRecord }
  | { ok: false; error: PulseError }

/** A committed change, as listeners (the bus, live streams) receive it. */
export interface CommittedChange {
  model: ModelDefinition
  record: StoredRecord
  /** Position in the change order. */
  seq: number
}

/** What the write path needs. */
export interface WriteDeps {
  storage: Storage
  schema: Schema
  /** The clock, for tests. */
  now(): Date
  /** Called after commit with the batch's changes, in commit order. */
  onCommit(changes: readonly CommittedChange[]): void
}

/** Options of `applyWrites`. */
export interface WriteOptions {
  /**
   * All or nothing: the first refused write aborts the batch (nothing applied) and its error is
   * thrown. Otherwise each write gets its own outcome and refused ones do not stop the others.
   */
  atomic?: boolean
}

type Prepared =
  | { kind: 'create'; model: ModelDefinition; id: string | undefined; values: Record<string, unknown>; given: ReadonlySet<string> }
  | { kind: 'update'; model: ModelDefinition; id: string; values: Record<string, unknown>; ifVersion: number | undefined }
  | { kind: 'delete'; model: ModelDefinition; id: string; ifVersion: number | undefined }

/** The server's own clock entry, for writes that come from no device (REST, CLI). */
export const SERVER_CLOCK_ID = 'server'

function asError(error: unknown): PulseError {
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

/** Validates one op against its model; pure, before any transaction (reject early). */
function prepare(schema: Schema, op: WriteOp): Prepared {
  const model = schema.model(op.model)
  switch (op.op) {
    case 'create': {
      const { id, values } = validateCreate(model, op.data)
      if (op.id !== undefined && id !== undefined && checkId(op.id) !== id) {
        throw new PulseError('bad_request', 'the id in the path and in the body differ')
      }
      const given = new Set(Object.keys(op.data as object).filter((k) => model.specs.has(k)))
      return { kind: 'create', model, id: id ?? (op.id === undefined ? undefined : checkId(op.id)), values, given }
    }
    case 'update':
      return { kind: 'update', model, id: checkId(op.id), values: validateUpdate(model, op.data), ifVersion: checkIfVersion(op.ifVersion) }
    case 'delete':
      return { kind: 'delete', model, id: checkId(op.id), ifVersion: checkIfVersion(op.ifVersion) }
    default:
      throw new PulseError('bad_request', `unknown op "${String((op as { op: unknown }).op)}"`)
  }
}

function notFound(model: ModelDefinition, id: string): PulseError {
  return new PulseError('not_found', `no ${model.name} with id ${id}`)
}

/** Per record: its state when the transaction began and its state now. */
interface Slot {
  model: ModelDefinition
  before: StoredRecord | undefined
  current: StoredRecord | undefined
}

/** The state of one batch inside its transaction. */
class Batch {
  readonly slots = new Map<string, Slot>()
  readonly history: HistoryEntry[] = []
  constructor(
    readonly ctx: Context,
    readonly nowIso: string,
  ) {}

  key(model: ModelDefinition, id: string): string {
    return `${model.name}\u0000${id}`
  }

  slot(model: ModelDefinition, id: string): Slot {
    const k = this.key(model, id)
    let s = this.slots.get(k)
    if (!s) {
      s = { model, before: undefined, current: undefined }
      this.slots.set(k, s)
    }
    return s
  }

  get clockId(): string {
    return this.ctx.actor.deviceId ?? SERVER_CLOCK_ID
  }

  record(op: HistoryEntry['op'], model: ModelDefinition, next: StoredRecord, changes: HistoryEntry['changes']): void {
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
      deviceId: actor.deviceId,
      requestId,
      at: this.nowIso,
    })
  }

  create(p: Extract<Prepared, { kind: 'create' }>): WriteOutcome {
    const values = { ...p.values }
    assignOwnership(this.ctx.actor, p.model, values)
    const id = p.id ?? uuidv7()
    const existing = this.slot(p.model, id).current
    if (existing) {
      // §4: a create with an id that exists is an update when the caller may write the record.
      if (!inScope(this.ctx.actor, p.model, existing)) throw new PulseError('id_taken', `the id ${id} is taken`)
      if (existing.deletedAt !== null && p.model.onDeleted === 'deleteWins') {
        throw new PulseError('id_taken', `the ${p.model.name} with id ${id} was deleted; create it with a new id`)
      }
      const changes = Object.fromEntries([...p.given].map((k) => [k, values[k]]))
      return this.change(p.model, existing, changes, undefined)
    }
    const fieldVersions: Record<string, number> = {}
    const changes: HistoryEntry['changes'] = {}
    for (const [name, value] of Object.entries(values)) {
      fieldVersions[name] = 1
      changes[name] = { old: null, new: value }
    }
    const record: StoredRecord = {
      id,
      version: 1,
      vclock: { [this.clockId]: 1 },
      createdAt: this.nowIso,
      updatedAt: this.nowIso,
      deletedAt: null,
      fieldVersions,
      values,
    }
    this.record('create', p.model, record, changes)
    return { ok: true, status: 'applied', model: p.model, record }
  }

  /** An update (or a revive, when `existing` is a tombstone) of a record the caller may write. */
  change(model: ModelDefinition, existing: StoredRecord, data: Record<string, unknown>, ifVersion: number | undefined): WriteOutcome {
    if (ifVersion !== undefined && ifVersion !== existing.version) {
      throw new PulseError('version_conflict', `the ${model.name} is at version ${existing.version}, not ${ifVersion}`)
    }
    checkOwnershipChange(this.ctx.actor, model, data)
    const revive = existing.deletedAt !== null
    const changes: HistoryEntry['changes'] = {}
    for (const [name, value] of Object.entries(data)) {
      if (!sameValue(existing.values[name], value)) changes[name] = { old: existing.values[name] ?? null, new: value }
    }
    if (!revive && Object.keys(changes).length === 0) return { ok: true, status: 'unchanged', model, record: existing }
    const version = existing.version + 1
    const fieldVersions = { ...existing.fieldVersions }
    const values = { ...existing.values }
    for (const [name, c] of Object.entries(changes)) {
      fieldVersions[name] = version
      values[name] = c.new
    }
    const next: StoredRecord = {
      ...existing,
      version,
      vclock: { ...existing.vclock, [this.clockId]: (existing.vclock[this.clockId] ?? 0) + 1 },
      updatedAt: this.nowIso,
      deletedAt: null,
      fieldVersions,
      values,
    }
    this.record(revive ? 'restore' : 'update', model, next, changes)
    return { ok: true, status: 'applied', model, record: next }
  }

  update(p: Extract<Prepared, { kind: 'update' }>): WriteOutcome {
    const existing = this.slot(p.model, p.id).current
    if (!existing || existing.deletedAt !== null || !inScope(this.ctx.actor, p.model, existing)) throw notFound(p.model, p.id)
    return this.change(p.model, existing, p.values, p.ifVersion)
  }

  delete(p: Extract<Prepared, { kind: 'delete' }>): WriteOutcome {
    const existing = this.slot(p.model, p.id).current
    if (!existing || existing.deletedAt !== null || !inScope(this.ctx.actor, p.model, existing)) throw notFound(p.model, p.id)
    if (p.ifVersion !== undefined && p.ifVersion !== existing.version) {
      throw new PulseError('version_conflict', `the ${p.model.name} is at version ${existing.version}, not ${p.ifVersion}`)
    }
    const next: StoredRecord = {
      ...existing,
      version: existing.version + 1,
      vclock: { ...existing.vclock, [this.clockId]: (existing.vclock[this.clockId] ?? 0) + 1 },
      updatedAt: this.nowIso,
      deletedAt: this.nowIso,
    }
    this.record('delete', p.model, next, {})
    return { ok: true, status: 'applied', model: p.model, record: next }
  }

  apply(p: Prepared): WriteOutcome {
    if (p.kind === 'create') return this.create(p)
    if (p.kind === 'update') return this.update(p)
    return this.delete(p)
  }

  /** Loads every record the batch names, locked, in one read per model. */
  async load(tx: StorageTx, prepared: readonly (Prepared | undefined)[]): Promise<void> {
    const ids = new Map<ModelDefinition, Set<string>>()
    for (const p of prepared) {
      if (!p?.id) continue
      let set = ids.get(p.model)
      if (!set) ids.set(p.model, (set = new Set()))
      set.add(p.id)
    }
    for (const [model, set] of ids) {
      const found = await tx.getRecords(model, [...set])
      for (const id of set) {
        const s = this.slot(model, id)
        s.before = found.get(id)
        s.current = s.before
      }
    }
  }

  /** Writes final states, history and change order; returns the committed changes. */
  async flush(tx: StorageTx): Promise<CommittedChange[]> {
    const inserts = new Map<ModelDefinition, StoredRecord[]>()
    const updates = new Map<ModelDefinition, StoredRecord[]>()
    const changed: Slot[] = []
    for (const s of this.slots.values()) {
      if (!s.current || s.current === s.before) continue
      const target = s.before ? updates : inserts
      let list = target.get(s.model)
      if (!list) target.set(s.model, (list = []))
      list.push(s.current)
      changed.push(s)
    }
    if (changed.length === 0) return []
    for (const [model, list] of inserts) await tx.insertRecords(model, list)
    for (const [model, list] of updates) await tx.updateRecords(model, list)
    if (this.history.length > 0) await tx.appendHistory(this.history)
    const entries: ChangeEntry[] = changed.map(({ model, current }) => {
      const r = current as StoredRecord // filtered above
      return {
        model: model.name,
        recordId: r.id,
        version: r.version,
        ownerId: model.ownerField ? ((r.values[model.ownerField] as string | null) ?? null) : null,
        orgId: model.orgField ? ((r.values[model.orgField] as string | null) ?? null) : null,
        deleted: r.deletedAt !== null,
      }
    })
    // §2: the change order is appended last, so positions become visible in commit order.
    const seqs = await tx.appendChanges(entries)
    return changed.map((s, i) => ({ model: s.model, record: s.current as StoredRecord, seq: seqs[i] ?? 0 }))
  }
}

/**
 * Applies a batch of writes in one transaction and returns one outcome per op, in order.
 * Invalid ops are refused before the transaction starts. With `atomic`, any refusal aborts the
 * whole batch and is thrown; a database failure always aborts the whole batch.
 */
export async function applyWrites(deps: WriteDeps, ctx: Context, ops: readonly WriteOp[], options: WriteOptions = {}): Promise<WriteOutcome[]> {
  const prepared: (Prepared | undefined)[] = []
  const early: (WriteOutcome | undefined)[] = []
  for (const op of ops) {
    try {
      prepared.push(prepare(deps.schema, op))
      early.push(undefined)
    } catch (e) {
      const error = asError(e)
      if (options.atomic) throw error
      prepared.push(undefined)
      early.push({ ok: false, error })
    }
  }
  if (prepared.every((p) => p === undefined)) return early as WriteOutcome[]

  const { outcomes, committed } = await deps.storage.transaction(async (tx) => {
    const batch = new Batch(ctx, deps.now().toISOString())
    await batch.load(tx, prepared)
    const results: WriteOutcome[] = prepared.map((p, i) => {
      if (!p) return early[i] as WriteOutcome
      try {
        return batch.apply(p)
      } catch (e) {
        const error = asError(e)
        if (options.atomic) throw error
        return { ok: false, error }
      }
    })
    return { outcomes: results, committed: await batch.flush(tx) }
  }, ctx.signal)
  if (committed.length > 0) deps.onCommit(committed)
  return outcomes
}
