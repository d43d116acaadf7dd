/**
 * `createClient`: the SDK's entry point. It loads the local store into memory, serves reads
 * from there at once, and runs every change as a command (commands.ts) on the store it owns,
 * with the sync loop in the background. When tabs of one origin share the store (IndexedDB),
 * one tab owns it at a time (client-tabs.ts): the others read a live copy and send their
 * commands to the owner. Everything is wired here; the logic lives in the modules it wires.
 */
import { defineSchema, type ModelDefinition, type Schema, uuidv7 } from '@pulse/core'
import type { Client, ClientOptions, ModelRef } from './client-types.ts'
import type { Command, ResultOf } from './commands.ts'
import { Emitter } from './events.ts'
import { type Live, liveOf, ModelVersions, sameItems } from './live-queries.ts'
import type { LocalRecord, LocalRecordOf } from './local-record.ts'
import { type AbortSignalLike, abortError, platformFetch, systemClock } from './platform.ts'
import { compileQuery, runQuery } from './query.ts'
import { RejectionList } from './rejections.ts'
import type { Replica } from './replica.ts'
import { openStore, type StoreAccess } from './store-access.ts'
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

/** The error calls on a closed client reject with. */
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
  let closed = false
  /** Called once `close()` begins (waiters that must give up). */
  const closing = new Set<() => void>()
  const wsUrl = options.wsUrl ?? socketUrlOf(options.url)
  const access: StoreAccess = openStore({ options, schema, timings, wsUrl, clock, http, status, versions, emitter, rejections, onError })
  const { ready } = access

  /** The replica reads use, at once when loaded (so a write applies synchronously), else once it is. */
  const loaded = (): Replica | Promise<Replica> => {
    if (closed) throw closedError()
    return access.replica() ?? ready.then(() => access.replica() as Replica)
  }
  const nameOf = (model: ModelRef<ModelDefinition>): string => (typeof model === 'string' ? model : model.name)
  const definition = (model: ModelRef<ModelDefinition>): ModelDefinition => schema.model(nameOf(model))
  const recordsOf = function* (r: Replica, model: string): Iterable<LocalRecord> {
    for (const row of r.rowsOf(model)) yield row.record
  }

  /**
   * Runs a command where the store is owned (here, or in the owner tab), once ready. When this
   * tab owns the loaded store, a write applies before this returns.
   */
  function dispatch<C extends Command>(command: C, signal?: AbortSignalLike): Promise<ResultOf<C>> {
    if (closed) return Promise.reject(closedError())
    return access.run(command, signal) ?? ready.then(() => dispatch(command, signal))
  }

  /** The record as this tab shows it after a write (a follower's copy has it by the time the owner answers). */
  const shown = (model: string, id: string, answer: LocalRecord | undefined): LocalRecordOf<never> =>
    (access.owns() ? answer : (access.replica()?.live(model, id) ?? answer)) as LocalRecordOf<never>

  /** Resolves once the status says up to date; rejects when aborted or closed. */
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
      return access.replica()?.clientId ?? options.clientId
    },
    async create(model, data) {
      const name = definition(model).name
      // The id is chosen here, so that a create sent again to another tab is known for what it is.
      const given = (data as { id?: unknown }).id
      const id = typeof given === 'string' ? given : uuidv7()
      return shown(name, id, await dispatch({ op: 'create', model: name, data: { ...data, id } }))
    },
    async update(model, id, patch) {
      const name = definition(model).name
      return shown(name, id, await dispatch({ op: 'update', model: name, id, patch: patch as Record<string, unknown> }))
    },
    async delete(model, id) {
      await dispatch({ op: 'delete', model: definition(model).name, id })
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
      const compute = () => {
        const r = access.replica()
        return r ? runQuery(compiled, recordsOf(r, def.name)) : undefined
      }
      const equal = (a: readonly LocalRecord[] | undefined, b: readonly LocalRecord[] | undefined) =>
        a === b || (a !== undefined && b !== undefined && sameItems(a, b))
      return liveOf(versions, def.name, compute, equal) as Live<never>
    },
    liveRecord(model, id) {
      const name = definition(model).name
      const compute = () => {
        const r = access.replica()
        return r ? (r.live(name, id) ?? null) : undefined
      }
      return liveOf(versions, name, compute, Object.is) as Live<never>
    },
    status: () => status.get(),
    subscribeStatus: (listener) => status.subscribe(listener),
    outbox: () =>
      access
        .replica()
        ?.outbox.list()
        .filter((e) => e.status !== 'REJECTED') ?? [],
    rejections: () => rejections.get(),
    subscribeRejections: (listener) => rejections.subscribe(listener),
    retryRejections: (mids) => dispatch({ op: 'retry', kinds: ['rejected', 'failed'], ...(mids ? { mids: [...mids] } : {}) }),
    discardRejections: (mids) => dispatch({ op: 'discard', ...(mids ? { mids: [...mids] } : {}) }),
    retryFailed: () => dispatch({ op: 'retry', kinds: ['failed'] }),
    whenSynced: (opts) => untilUpToDate(opts?.signal),
    async sync(opts) {
      // A signal cannot cross tabs: a follower's sync runs in the owner tab to its end.
      await (access.owns() ? access.sync(opts?.signal) : dispatch({ op: 'sync' }))
    },
    conflicts: (opts) => http.listConflicts(opts?.status, opts?.signal),
    async resolveConflict(id, choice, data, opts) {
      const answer = await dispatch({ op: 'resolveConflict', id, choice, ...(data ? { data } : {}) }, opts?.signal)
      return { conflict: answer.conflict, record: access.replica()?.live(answer.model, answer.id) as LocalRecordOf<never> | undefined }
    },
    on: (event, listener) => emitter.on(event, listener),
    async close() {
      if (closed) return
      closed = true
      for (const giveUp of [...closing]) giveUp()
      await access.close(closedError())
    },
  }
  return client
}
