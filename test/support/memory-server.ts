/**
 * The server's write path — check, decide, persist — through the public `createEngine`,
 * with no database: its transactions run over tables held in memory, and the routes the
 * convergence world calls (push, pull, PATCH, DELETE, history, resolve) are answered from them,
 * as a server with accounts off answers them (every caller is the system actor). Lets the
 * convergence property check `decide` and `persist` against the reference model in
 * milliseconds per schedule.
 *
 * Tables are copied at the start of each transaction and kept only when it returns, so a
 * refused atomic write or a failing batch leaves nothing behind, as on a database.
 */
import { type Conflict, ERROR_CODES, isPulseError, parsePushRequest, type Schema } from '@pulse/core'
import {
  type ChangeEntry,
  createEngine,
  type HistoryEntry,
  type PushRefusal,
  type Storage,
  type StorageTx,
  type StoredRecord,
  systemContext,
  toWire,
  type WriteOp,
} from '@pulse/server'
import type { Api } from './sim-client.ts'

interface Tables {
  records: Map<string, StoredRecord>
  history: Map<string, HistoryEntry[]>
  clients: Map<string, { lastMid: number; owner: string | null }>
  /** Each client's remembered refusals, by mid. */
  refusals: Map<string, Map<number, PushRefusal>>
  conflicts: Map<string, Conflict>
  /** The change order: each record's latest entry. */
  changes: Map<string, ChangeEntry & { seq: number }>
  seq: number
}

const keyOf = (model: string, id: string) => `${model}\u0000${id}`

function txOver(t: Tables): StorageTx {
  return {
    async getRecords(model, ids) {
      const found = new Map<string, StoredRecord>()
      for (const id of ids) {
        const r = t.records.get(keyOf(model.name, id))
        if (r) found.set(id, structuredClone(r))
      }
      return found
    },
    async insertRecords(model, records) {
      for (const r of records) {
        if (t.records.has(keyOf(model.name, r.id))) throw new Error(`duplicate key: ${model.name} ${r.id}`)
        t.records.set(keyOf(model.name, r.id), structuredClone(r))
      }
    },
    async updateRecords(model, records) {
      for (const r of records) {
        if (!t.records.has(keyOf(model.name, r.id))) throw new Error(`no row to update: ${model.name} ${r.id}`)
        t.records.set(keyOf(model.name, r.id), structuredClone(r))
      }
    },
    async appendHistory(entries) {
      for (const e of entries) {
        const key = keyOf(e.model, e.recordId)
        t.history.set(key, [...(t.history.get(key) ?? []), structuredClone(e)])
      }
    },
    async appendChanges(entries) {
      return entries.map((e) => {
        t.seq += 1
        // One live entry per record, one removal per scope it left (§8).
        const entry = e.removed ? `removed\u0000${e.ownerId}\u0000${e.orgId}` : 'live'
        t.changes.set(`${keyOf(e.model, e.recordId)}\u0000${entry}`, { ...e, seq: t.seq })
        return t.seq
      })
    },
    async claimClient(clientId, owner) {
      const row = t.clients.get(clientId) ?? { lastMid: 0, owner: null }
      const claimed = { lastMid: row.lastMid, owner: row.owner ?? owner }
      t.clients.set(clientId, claimed)
      return { ...claimed }
    },
    async setClientMid(clientId, mid) {
      const row = t.clients.get(clientId) ?? { lastMid: 0, owner: null }
      t.clients.set(clientId, { ...row, lastMid: mid })
    },
    async listRefusals(clientId, mids) {
      const mine = t.refusals.get(clientId)
      return mids.flatMap((mid) => {
        const r = mine?.get(mid)
        return r ? [{ ...r }] : []
      })
    },
    async recordRefusals(clientId, refusals, forgetThrough) {
      const mine = t.refusals.get(clientId) ?? new Map<number, PushRefusal>()
      for (const mid of [...mine.keys()]) if (mid <= forgetThrough) mine.delete(mid)
      for (const r of refusals) if (!mine.has(r.mid)) mine.set(r.mid, { ...r })
      t.refusals.set(clientId, mine)
    },
    async listHistory(model, recordId, sinceVersion) {
      return (t.history.get(keyOf(model.name, recordId)) ?? []).filter((h) => h.version > sinceVersion).map((h) => structuredClone(h))
    },
    async insertConflicts(conflicts) {
      for (const c of conflicts) t.conflicts.set(c.id, structuredClone(c))
    },
    async getConflict(id) {
      const c = t.conflicts.get(id)
      return c && structuredClone(c)
    },
    async updateConflict(conflict) {
      t.conflicts.set(conflict.id, structuredClone(conflict))
    },
    // Accounts off: every caller is the system actor, which has no user row to lock.
    async lockUsers() {
      return new Map()
    },
    async userOrgIds() {
      return []
    },
  }
}

type Reply = Awaited<ReturnType<Api['get']>>

function reply(status: number, json?: unknown): Reply {
  const text = json === undefined ? '' : JSON.stringify(json)
  return { status, headers: new Headers(), text, json: (json === undefined ? undefined : JSON.parse(text)) as Reply['json'] }
}

/** A §7 reply for a refusal; anything else is a fault of the write path and fails the test. */
function refusal(error: unknown): Reply {
  if (!isPulseError(error)) throw error
  return reply(ERROR_CODES[error.code].status, { error: { code: error.code, message: error.message } })
}

/** An in-memory server over `schema` behind the routes the convergence world uses. */
export function memoryServer(schema: Schema): Api {
  let tables: Tables = {
    records: new Map(),
    history: new Map(),
    clients: new Map(),
    refusals: new Map(),
    conflicts: new Map(),
    changes: new Map(),
    seq: 0,
  }
  let queue: Promise<unknown> = Promise.resolve()
  // The engine's one write path over these tables: only `transaction` is a storage here (the
  // routes below answer reads from the tables themselves); any other storage call is an error.
  const storage = new Proxy(
    {
      // One transaction at a time, on a copy that replaces the tables only when it returns.
      transaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> {
        const run = queue.then(async () => {
          const copy = structuredClone(tables)
          const result = await fn(txOver(copy))
          tables = copy
          return result
        })
        queue = run.catch(() => undefined) // the next transaction waits for this one, whatever its end
        return run
      },
    },
    {
      get(target, name) {
        if (name in target) return target[name as keyof typeof target]
        if (name === 'then') return undefined
        throw new Error(`the memory server's storage has no ${String(name)}`)
      },
    },
  ) as unknown as Storage
  const engine = createEngine({ storage, schema })
  const ctx = systemContext('memory')
  const write = async (op: WriteOp) => (await engine.write(ctx, [op], { atomic: true })).outcomes[0]

  function pull(query: URLSearchParams): Reply {
    const after = Number(query.get('cursor') ?? 0)
    const limit = Number(query.get('limit') ?? 500)
    const pending = [...tables.changes.values()].filter((c) => c.seq > after).sort((a, b) => a.seq - b.seq)
    const page = pending.slice(0, limit)
    const changes = page.map((c) => ({ model: c.model, record: toWire(tables.records.get(keyOf(c.model, c.recordId)) as StoredRecord) }))
    return reply(200, { changes, cursor: String(page.at(-1)?.seq ?? after), hasMore: pending.length > page.length })
  }

  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const url = new URL(path, 'http://memory')
    const [, api, first, second, third, fourth] = url.pathname.split('/')
    if (api !== 'api') return reply(404)
    try {
      if (method === 'POST' && first === 'sync' && second === 'push') {
        return reply(200, await engine.push(ctx, parsePushRequest(body)))
      }
      if (method === 'GET' && first === 'sync' && second === 'pull') return pull(url.searchParams)
      if (method === 'POST' && first === 'sync' && second === 'conflicts' && third && fourth === 'resolve') {
        const { choice, data } = body as { choice: 'local' | 'remote' | 'custom'; data?: unknown }
        const outcome = await write({ op: 'resolve', conflictId: third, choice, data })
        return outcome?.ok && outcome.record ? reply(200, { conflict: outcome.conflict, record: toWire(outcome.record) }) : reply(500)
      }
      const model = [...schema.models.values()].find((m) => m.plural === first)
      if (!model || !second) return reply(404)
      if (method === 'GET' && third === 'history') {
        const record = tables.records.get(keyOf(model.name, second))
        return record ? reply(200, { items: tables.history.get(keyOf(model.name, second)) ?? [] }) : reply(404)
      }
      if (method === 'PATCH') {
        const outcome = await write({ op: 'update', model: model.name, id: second, data: body })
        return outcome?.ok && outcome.record ? reply(200, toWire(outcome.record)) : reply(500)
      }
      if (method === 'DELETE') return (await write({ op: 'delete', model: model.name, id: second })) ? reply(204) : reply(500)
      return reply(404)
    } catch (error) {
      return refusal(error)
    }
  }

  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    patch: (path, body) => call('PATCH', path, body),
    delete: (path) => call('DELETE', path),
    call: (method, path, body) => call(method, path, body),
  }
}
