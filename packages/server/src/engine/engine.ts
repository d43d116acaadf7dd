/**
 * The engine: the write path plus scoped reads, free of any transport. HTTP, WebSocket,
 * GraphQL and the CLI are thin adapters that decode, call the engine, encode.
 */
import { isUuid, type ModelDefinition, PulseError, type Schema } from '@pulse/core'
import type { HistoryEntry, ListOrder, Storage, StoredRecord } from '../storage/storage.ts'
import type { Context } from './context.ts'
import { inScope, scopeFilter } from './scope.ts'
import { applyWrites, type CommittedChange, type WriteOp, type WriteOptions, type WriteOutcome } from './write.ts'

/** A page of a list. */
export interface ListPage {
  records: StoredRecord[]
  /** Where the next page starts, when there may be one. */
  next: { value: unknown; id: string } | undefined
}

/** A list request, already decoded by the transport. */
export interface ListRequest {
  where?: Record<string, unknown>
  orderBy?: ListOrder
  limit: number
  after?: { value: unknown; id: string }
}

/** The engine's public face. */
export interface Engine {
  readonly schema: Schema
  readonly storage: Storage
  /** Applies a batch of writes in one transaction (see `applyWrites`). */
  write(ctx: Context, ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteOutcome[]>
  /** One write; throws its PulseError when refused. Returns the record's state after it. */
  writeOne(ctx: Context, op: WriteOp): Promise<{ status: string; record: StoredRecord }>
  /** A live record in the caller's scope, or `not_found`. */
  get(ctx: Context, model: string, id: string): Promise<StoredRecord>
  /** A page of live records in the caller's scope. */
  list(ctx: Context, model: string, request: ListRequest): Promise<ListPage>
  /** A record's audit trail (tombstones included), or `not_found` when out of scope. */
  history(ctx: Context, model: string, id: string): Promise<HistoryEntry[]>
  /** Subscribes to committed changes; returns the unsubscribe function. */
  onCommit(listener: (changes: readonly CommittedChange[]) => void): () => void
}

/** What `createEngine` takes. */
export interface EngineOptions {
  storage: Storage
  schema: Schema
  /** The clock (tests). */
  now?: () => Date
  /** Where a failing commit listener's error goes (default: console.error). */
  onError?: (error: unknown) => void
}

/** Creates an engine over a migrated storage. */
export function createEngine(options: EngineOptions): Engine {
  const { storage, schema } = options
  const now = options.now ?? (() => new Date())
  const onError = options.onError ?? ((e: unknown) => console.error('pulse: commit listener failed', e))
  const listeners = new Set<(changes: readonly CommittedChange[]) => void>()
  const deps = {
    storage,
    schema,
    now,
    onCommit(changes: readonly CommittedChange[]) {
      for (const l of listeners) {
        try {
          l(changes)
        } catch (e) {
          onError(e)
        }
      }
    },
  }

  async function load(ctx: Context, model: ModelDefinition, id: string): Promise<StoredRecord | undefined> {
    if (!isUuid(id)) throw new PulseError('invalid_id', `"${String(id).slice(0, 64)}" is not a valid UUID`)
    const record = await storage.getRecord(model, id.toLowerCase(), ctx.signal)
    // §8: out of scope answers exactly like absent.
    return record && inScope(ctx.actor, model, record) ? record : undefined
  }

  return {
    schema,
    storage,
    write: (ctx, ops, opts) => applyWrites(deps, ctx, ops, opts),
    async writeOne(ctx, op) {
      const [outcome] = await applyWrites(deps, ctx, [op], { atomic: true })
      if (!outcome?.ok) throw outcome?.error ?? new PulseError('internal_error', 'no outcome')
      if (!outcome.record) throw new PulseError('internal_error', 'a write without a record')
      return { status: outcome.status, record: outcome.record }
    },
    async get(ctx, modelName, id) {
      const model = schema.model(modelName)
      const record = await load(ctx, model, id)
      if (!record || record.deletedAt !== null) throw new PulseError('not_found', `no ${model.name} with id ${id}`)
      return record
    },
    async list(ctx, modelName, request) {
      const model = schema.model(modelName)
      const where = scopeFilter(ctx.actor, model, { ...request.where })
      if (!where) return { records: [], next: undefined }
      const orderBy = request.orderBy ?? { field: 'createdAt', direction: 'asc' }
      const records = await storage.listRecords(
        model,
        { where, orderBy, limit: request.limit + 1, ...(request.after ? { after: request.after } : {}) },
        ctx.signal,
      )
      const more = records.length > request.limit
      const page = more ? records.slice(0, request.limit) : records
      const last = page[page.length - 1]
      const orderValue = (r: StoredRecord): unknown =>
        orderBy.field === 'createdAt' ? r.createdAt : orderBy.field === 'updatedAt' ? r.updatedAt : r.values[orderBy.field]
      return { records: page, next: more && last ? { value: orderValue(last), id: last.id } : undefined }
    },
    async history(ctx, modelName, id) {
      const model = schema.model(modelName)
      const record = await load(ctx, model, id)
      if (!record) throw new PulseError('not_found', `no ${model.name} with id ${id}`)
      return storage.listHistory(model, record.id, ctx.signal)
    },
    onCommit(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
