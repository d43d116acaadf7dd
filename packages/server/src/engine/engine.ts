/**
 * The engine: the write path plus scoped reads and the sync protocol's operations, free of
 * any transport. HTTP, WebSocket and the CLI are thin adapters that decode, call the
 * engine, encode.
 */
import {
  type Conflict,
  createHlc,
  isUuid,
  type ModelDefinition,
  PulseError,
  type PushRequest,
  type PushResponse,
  type Schema,
} from '@pulse/core'
import type { HistoryEntry, ListOrder, Storage, StoredRecord } from '../storage/storage.ts'
import { createByteBudget } from './byte-budget.ts'
import { type ConflictListRequest, type ConflictPage, listConflicts } from './conflict-list.ts'
import type { Context } from './context.ts'
import { DEFAULT_MAX_PAGE_BYTES, type PageBounds, type PullPage, type PullRequest, pull } from './pull.ts'
import { pushMutations } from './push.ts'
import { inScope, scopeFilter } from './scope.ts'
import { createWireCache, DEFAULT_WIRE_CACHE_BYTES } from './wire-cache.ts'
import { applyWrites, type CommittedChange, type WriteOp, type WriteOptions, type WriteResult } from './write.ts'
import { createWriteGroup, type WriteGroupOptions } from './write-group.ts'

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
  write(ctx: Context, ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteResult>
  /** One write; throws its PulseError when refused. Returns the record's state after it. */
  writeOne(ctx: Context, op: WriteOp): Promise<{ status: string; record: StoredRecord }>
  /** A live record in the caller's scope, or `not_found`. */
  get(ctx: Context, model: string, id: string): Promise<StoredRecord>
  /** A page of live records in the caller's scope. */
  list(ctx: Context, model: string, request: ListRequest): Promise<ListPage>
  /** A record's audit trail (tombstones included), or `not_found` when out of scope. */
  history(ctx: Context, model: string, id: string): Promise<HistoryEntry[]>
  /** §4 push: applies a device's mutations exactly once, in `mid` order. */
  push(ctx: Context, request: PushRequest): Promise<PushResponse>
  /**
   * §3 pull: a page of changes after a cursor, bounded in count and in bytes. `deliver` gets
   * the page while its bytes still count against the process's pull budget: a transport
   * serialises and sends it there, so pages in flight stay within `maxPullBytesInFlight`.
   */
  pull(ctx: Context, request: PullRequest, deliver?: (page: PullPage) => void | Promise<void>): Promise<PullPage>
  /** §5: a page of the conflicts whose records the caller may read now (every one for admins). */
  listConflicts(ctx: Context, request?: ConflictListRequest): Promise<ConflictPage>
  /** §5: applies a person's choice for an open conflict as a new version. */
  resolveConflict(
    ctx: Context,
    id: string,
    choice: 'local' | 'remote' | 'custom',
    data?: unknown,
  ): Promise<{ conflict: Conflict; record: StoredRecord }>
  /**
   * Purges tombstones deleted more than `retentionDays` ago (default 90); pulls from cursors
   * older than the purge then answer `cursor_expired` (§2). Returns how many were purged.
   */
  purgeTombstones(retentionDays?: number, signal?: AbortSignal): Promise<number>
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
  /** Largest page of a pull or list, in bytes of records (default 4 MiB); a larger record goes alone. */
  maxPageBytes?: number
  /**
   * Bytes of pull and list pages being loaded and sent at once, across all callers (default
   * 32 MiB): a page waits for room before it is loaded. Bounds the memory of concurrent pulls.
   */
  maxPullBytesInFlight?: number
  /**
   * Bytes of encoded changes kept for pulls (default 64 MiB, 0: none): each record's change is
   * serialised once, when it commits or is first pulled, and pages are concatenated from these.
   */
  wireCacheBytes?: number
  /**
   * Group commit of single writes (`writeOne`, the REST writes): concurrent ones share a
   * transaction, each answered as if alone (`write-group.ts`). Default on: at most 128 writes a
   * transaction, 4096 waiting; `false` gives each its own transaction.
   */
  groupCommit?: WriteGroupOptions | false
  /**
   * Users are Pulse accounts (§9, `createAccounts` on the same storage): a user's write is judged
   * by the memberships in force when it commits, not when its request was authenticated (its
   * row is locked and, when they changed since, its memberships read again). Off, actors are
   * taken as given (the system, or an embedding's own `authenticate`).
   */
  accounts?: boolean
}

/** Default bytes of pages in flight at once (eight full pages). */
export const DEFAULT_MAX_PULL_BYTES_IN_FLIGHT = 32 * 1024 * 1024

/** How long tombstones are kept by default (seed 002: 90 days). */
export const DEFAULT_TOMBSTONE_RETENTION_DAYS = 90
const DAY_MS = 86_400_000

export { MAX_CONFLICTS_LISTED } from './conflict-list.ts'

/** Creates an engine over a migrated storage. */
export function createEngine(options: EngineOptions): Engine {
  const { storage, schema } = options
  const now = options.now ?? (() => new Date())
  const onError = options.onError ?? ((e: unknown) => console.error('pulse: commit listener failed', e))
  const listeners = new Set<(changes: readonly CommittedChange[]) => void>()
  const bounds: PageBounds = {
    maxPageBytes: options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES,
    budget: createByteBudget(options.maxPullBytesInFlight ?? DEFAULT_MAX_PULL_BYTES_IN_FLIGHT),
  }
  const cache = createWireCache(options.wireCacheBytes ?? DEFAULT_WIRE_CACHE_BYTES)
  const deps = {
    storage,
    schema,
    now,
    hlc: createHlc(() => now().getTime()),
    accounts: options.accounts ?? false,
    onCommit(changes: readonly CommittedChange[]) {
      // Serialised once, as committed: a pull of these versions concatenates them.
      for (const c of changes) if (!c.removedFrom) cache.put(c.model, c.record, c.seq)
      for (const l of listeners) {
        try {
          l(changes)
        } catch (e) {
          onError(e)
        }
      }
    },
  }

  // One group at a time: SQLite has one writer, and on PostgreSQL a group holds the change
  // order's lock from its first request's entries to its commit, so a second group would only
  // wait for it (and could deadlock with it on a record both touch).
  const group = options.groupCommit === false ? undefined : createWriteGroup(deps, options.groupCommit)

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
      const { outcomes } = group ? await group.write(ctx, [op]) : await applyWrites(deps, ctx, [op], { atomic: true })
      const [outcome] = outcomes
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
      // §10: a page ends at the byte bound too; while loaded it holds a full page of the budget.
      const release = await bounds.budget.acquire(bounds.maxPageBytes, ctx.signal)
      let loaded: Awaited<ReturnType<Storage['listPage']>>
      try {
        loaded = await storage.listPage(
          model,
          { where, orderBy, limit: request.limit, ...(request.after ? { after: request.after } : {}) },
          bounds.maxPageBytes,
          ctx.signal,
        )
      } finally {
        release()
      }
      const { records: page, more } = loaded
      const last = page[page.length - 1]
      const orderValue = (r: StoredRecord): unknown =>
        orderBy.field === 'createdAt' ? r.createdAt : orderBy.field === 'updatedAt' ? r.updatedAt : r.values[orderBy.field]
      // §8 read rules are functions, applied here: a page may come out short, and the next
      // one still starts after the last record read, so none is skipped or repeated.
      const visible = model.rules.read ? page.filter((r) => inScope(ctx.actor, model, r)) : page
      return { records: visible, next: more && last ? { value: orderValue(last), id: last.id } : undefined }
    },
    async history(ctx, modelName, id) {
      const model = schema.model(modelName)
      const record = await load(ctx, model, id)
      if (!record) throw new PulseError('not_found', `no ${model.name} with id ${id}`)
      return storage.listHistory(model, record.id, ctx.signal)
    },
    push: (ctx, request) => pushMutations(deps, ctx, request),
    pull: (ctx, request, deliver) => pull(storage, schema, ctx, request, bounds, cache, deliver),
    listConflicts: (ctx, request = {}) => listConflicts(storage, schema, ctx, request),
    async resolveConflict(ctx, id, choice, data) {
      const { outcomes } = await applyWrites(deps, ctx, [{ op: 'resolve', conflictId: id, choice, data }], { atomic: true })
      const [o] = outcomes
      if (!o?.ok || !o.conflict || !o.record) throw (o && !o.ok ? o.error : undefined) ?? new PulseError('internal_error', 'no outcome')
      return { conflict: o.conflict, record: o.record }
    },
    async purgeTombstones(retentionDays = DEFAULT_TOMBSTONE_RETENTION_DAYS, signal) {
      if (!(retentionDays >= 0)) throw new PulseError('bad_request', 'retention is a number of days, 0 or more')
      return storage.purgeTombstones(new Date(now().getTime() - retentionDays * DAY_MS).toISOString(), signal)
    },
    onCommit(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
