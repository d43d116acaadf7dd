/**
 * `createClient`: the SDK's entry point. It loads the local store into memory, serves reads and
 * writes from there at once, and runs the sync loop in the background. Everything is wired
 * here; the logic lives in the modules it wires.
 */
import { defineSchema, type ModelDefinition, type Schema } from '@pulse/core'
import type { Client, ClientOptions, ModelRef } from './client-types.ts'
import { Emitter } from './events.ts'
import { type Live, liveOf, ModelVersions, sameItems } from './live-queries.ts'
import type { LocalRecord, LocalRecordOf } from './local-record.ts'
import { createLocal, deleteLocal, updateLocal } from './local-writes.ts'
import { type AbortSignalLike, abortError, platformConnectivity, platformFetch, platformWebSocket, systemClock } from './platform.ts'
import { compileQuery, runQuery } from './query.ts'
import { discardRefused, RejectionList, refusedEntries, retryAfterScopeChange, retryRefused } from './rejections.ts'
import { loadReplica, type Replica } from './replica.ts'
import { settle } from './server-apply.ts'
import { createSyncLoop, type SyncLoop } from './sync-loop.ts'
import { StatusStore } from './sync-status.ts'
import { DEFAULT_TIMINGS, type SyncTimings } from './sync-timings.ts'
import { createHttpApi } from './transports/http-api.ts'

const defaultOnError = (error: unknown): void => {
  ;(globalThis as { console?: { error(...args: unknown[]): void } }).console?.error('pulse client:', error)
}

/** An error object is told to `onError` once, however many waiters it failed (a group commit fails them all). */
function reportOnce(onError: (error: unknown) => void): (error: unknown) => void {
  const told = new WeakSet<object>()
  return (error) => {
    if (typeof error === 'object' && error !== null) {
      if (told.has(error)) return
      told.add(error)
    }
    onError(error)
  }
}

function closedError(): Error {
  const error = new Error('the client is closed')
  error.name = 'ClientClosedError'
  return error
}

/** The socket URL of a server URL: same host, `ws(s)://…/ws`. */
export function socketUrlOf(url: string): string {
  return `${url.replace(/\/+$/, '').replace(/^http/i, 'ws')}/ws`
}

/**
 * Creates a client. It loads its store at once (`ready`); reads and writes made before that
 * wait for it. With `autoSync` (the default) it then connects and keeps syncing until `close()`.
 */
export function createClient(options: ClientOptions): Client {
  const onError = reportOnce(options.onError ?? defaultOnError)
  const clock = options.clock ?? systemClock
  const schema: Schema = defineSchema(options.models)
  const fetch = options.fetch ?? platformFetch()
  if (!fetch) throw new Error('no fetch on this platform: pass options.fetch')
  const timings: SyncTimings = {
    ...DEFAULT_TIMINGS,
    ...options.timings,
    retry: { ...DEFAULT_TIMINGS.retry, ...options.timings?.retry },
  }
  const status = new StatusStore(onError)
  const versions = new ModelVersions(onError)
  const emitter = new Emitter(onError)
  const rejections = new RejectionList(onError)
  const http = createHttpApi({
    baseUrl: options.url,
    fetch,
    timeoutMs: timings.connectTimeoutMs * 3,
    clock,
    ...(options.auth ? { auth: options.auth } : {}),
  })
  let replica: Replica | undefined
  let loop: SyncLoop | undefined
  let closed = false
  /** Called once `close()` begins (waiters that must give up). */
  const closing = new Set<() => void>()

  const ready = (async () => {
    const loaded = await loadReplica({
      store: options.store,
      schema,
      onError,
      clock,
      listeners: {
        records: (models) => versions.touch(models),
        outbox: (counts) => {
          status.update(counts)
          if (replica) rejections.refresh(replica.outbox.refused())
        },
      },
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    })
    replica = loaded
    loop = createSyncLoop({
      replica: loaded,
      http,
      WebSocket: options.WebSocket === null ? undefined : (options.WebSocket ?? platformWebSocket()),
      wsUrl: options.wsUrl ?? socketUrlOf(options.url),
      auth: options.auth,
      status,
      connectivity: options.connectivity ?? platformConnectivity(),
      events: {
        conflict: (e) => emitter.emit('conflict', e),
        rejected: (e) => {
          status.update({ lastError: { ...e.error, at: new Date(clock.now()).toISOString() } })
          emitter.emit('rejected', e)
        },
      },
      timings,
      clock,
      onError,
      ...(options.onUnauthorized ? { onUnauthorized: options.onUnauthorized } : {}),
      onScopeChanged: () => {
        const txn = loaded.begin()
        if (retryAfterScopeChange(loaded, txn) > 0) loaded.endInBackground(txn)
      },
    })
    status.update({ ready: true, ...loaded.outbox.counts(), lastSyncedAt: loaded.lastSyncedAt })
    rejections.refresh(loaded.outbox.refused())
    versions.touch(schema.models.keys())
    if (closed) return
    if (options.autoSync !== false) loop.start()
  })()
  ready.catch((e: unknown) => {
    status.update({
      lastError: {
        code: 'store_unavailable',
        message: e instanceof Error ? e.message : String(e),
        at: new Date(clock.now()).toISOString(),
      },
    })
    onError(e)
  })

  /** The replica, at once when loaded (so a write applies synchronously), else once it is. */
  const loaded = (): Replica | Promise<Replica> => {
    if (closed) throw closedError()
    return replica ?? ready.then(() => replica as Replica)
  }
  const nameOf = (model: ModelRef<ModelDefinition>): string => (typeof model === 'string' ? model : model.name)
  const definition = (model: ModelRef<ModelDefinition>): ModelDefinition => schema.model(nameOf(model))
  const recordsOf = function* (r: Replica, model: string): Iterable<LocalRecord> {
    for (const row of r.rowsOf(model)) yield row.record
  }

  /** Resolves once the status says up to date (§ whenSynced); rejects when aborted or closed. */
  function untilUpToDate(signal: AbortSignalLike | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? abortError('whenSynced'))
      const stop = () => {
        unsubscribe()
        closing.delete(check)
        signal?.removeEventListener('abort', aborted)
      }
      const check = () => {
        if (status.get().upToDate) {
          stop()
          resolve()
        } else if (closed) {
          stop()
          reject(closedError())
        }
      }
      const aborted = () => {
        stop()
        reject(signal?.reason ?? abortError('whenSynced'))
      }
      const unsubscribe = status.subscribe(check)
      closing.add(check)
      signal?.addEventListener('abort', aborted, { once: true })
      check()
    })
  }

  const client: Client = {
    ready,
    get clientId() {
      return replica?.clientId ?? options.clientId
    },
    async create(model, data) {
      const r = replica && !closed ? replica : await loaded()
      const write = createLocal(r, definition(model), data)
      loop?.localWrite()
      await write.persisted
      return write.record as LocalRecordOf<never>
    },
    async update(model, id, patch) {
      const r = replica && !closed ? replica : await loaded()
      const write = updateLocal(r, definition(model), id, patch)
      loop?.localWrite()
      await write.persisted
      return write.record as LocalRecordOf<never>
    },
    async delete(model, id) {
      const r = replica && !closed ? replica : await loaded()
      const write = deleteLocal(r, definition(model), id)
      loop?.localWrite()
      await write.persisted
    },
    async get(model, id) {
      const r = await loaded()
      return r.live(definition(model).name, id) as LocalRecordOf<never> | undefined
    },
    async query(model, query) {
      const def = definition(model)
      const compiled = compileQuery(def, query)
      const r = await loaded()
      return runQuery(compiled, recordsOf(r, def.name)) as LocalRecordOf<never>[]
    },
    live(model, query) {
      const def = definition(model)
      const compiled = compileQuery(def, query)
      const compute = () => (replica ? runQuery(compiled, recordsOf(replica, def.name)) : undefined)
      const equal = (a: readonly LocalRecord[] | undefined, b: readonly LocalRecord[] | undefined) =>
        a === b || (a !== undefined && b !== undefined && sameItems(a, b))
      return liveOf(versions, def.name, compute, equal) as Live<never>
    },
    liveRecord(model, id) {
      const name = definition(model).name
      const compute = () => (replica ? (replica.live(name, id) ?? null) : undefined)
      return liveOf(versions, name, compute, Object.is) as Live<never>
    },
    status: () => status.get(),
    subscribeStatus: (listener) => status.subscribe(listener),
    outbox: () => replica?.outbox.list().filter((e) => e.status !== 'REJECTED') ?? [],
    rejections: () => rejections.get(),
    subscribeRejections: (listener) => rejections.subscribe(listener),
    async retryRejections(mids) {
      const r = await loaded()
      const txn = r.begin()
      const count = retryRefused(r, txn, refusedEntries(r, mids, ['rejected', 'failed']))
      await r.end(txn)
      if (count > 0) loop?.pushSoon()
      return count
    },
    async discardRejections(mids) {
      const r = await loaded()
      const txn = r.begin()
      const count = discardRefused(r, txn, refusedEntries(r, mids, ['rejected', 'failed']))
      await r.end(txn)
      return count
    },
    whenSynced(opts) {
      return untilUpToDate(opts?.signal)
    },
    async sync(opts) {
      await loaded()
      await (loop as SyncLoop).sync(opts?.signal)
    },
    async retryFailed() {
      const r = await loaded()
      const txn = r.begin()
      const count = retryRefused(r, txn, refusedEntries(r, undefined, ['failed']))
      await r.end(txn)
      if (count > 0) loop?.pushSoon()
      return count
    },
    async conflicts(opts) {
      return http.listConflicts(opts?.status, opts?.signal)
    },
    async resolveConflict(id, choice, data, opts) {
      const answer = await http.resolveConflict(id, { choice, ...(data ? { data } : {}) }, opts?.signal)
      const r = await loaded()
      const model = answer.conflict.model
      if (!r.schema.models.has(model)) return { conflict: answer.conflict, record: undefined }
      const txn = r.begin()
      settle(r, txn, model, answer.record.id, answer.record)
      await r.end(txn)
      return { conflict: answer.conflict, record: r.live(model, answer.record.id) }
    },
    on: (event, listener) => emitter.on(event, listener),
    async close() {
      if (closed) return
      closed = true
      for (const giveUp of [...closing]) giveUp()
      try {
        await ready
      } catch {
        // The store never loaded: there is nothing to flush.
      }
      await loop?.close()
      await replica?.close()
      await options.store.close()
    },
  }
  return client
}
