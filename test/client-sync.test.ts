/**
 * The client SDK against a real server (SQLite, accounts off): local writes and their outbox,
 * the socket and the HTTP fallback, every push status, live queries, the sync status.
 */
import type { Client, FetchLike, WebSocketConstructor } from '@pulse/client'
import { defineModel, f, PulseError } from '@pulse/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestNetwork, eventually, type RestartableServer, startRestartableServer, testClient } from './support/client-harness.ts'
import { note, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]

describe('client sync (real server)', () => {
  let server: RestartableServer
  const clients: Client[] = []
  const make = (extra: Parameters<typeof testClient>[2] = {}) => {
    const c = testClient(server.url, models, extra)
    clients.push(c)
    return c
  }
  /** The server's state of a note. */
  const onServer = async (id: string) => (await server.current.engine.storage.getRecord(note, id))?.values

  beforeAll(async () => {
    server = await startRestartableServer(syncSchema, 'sync')
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
  })
  afterAll(async () => {
    await server.stop()
  })

  it('creates, updates and deletes locally at once, then syncs each change to the server and to other clients', async () => {
    const a = make()
    const b = make()
    await Promise.all([a.ready, b.ready])
    const created = await a.create(note, { title: 'draft', tags: ['x'] })
    expect(created).toMatchObject({ title: 'draft', tags: ['x'], priority: 0, version: 0, localOnly: true, syncError: null })
    expect(a.status().pending).toBe(1)
    await eventually(async () => (await b.get(note, created.id))?.title === 'draft', 'b receives the create')
    await eventually(async () => (await a.get(note, created.id))?.localOnly === false, 'a gets the answer')
    expect((await a.get(note, created.id))?.version).toBe(1)

    const updated = await b.update(note, created.id, { title: 'final', priority: 2 })
    expect(updated).toMatchObject({ title: 'final', priority: 2, localOnly: true, version: 1 })
    await eventually(async () => (await a.get(note, created.id))?.title === 'final', 'a receives the update')
    expect(await onServer(created.id)).toMatchObject({ title: 'final', priority: 2 })

    await a.delete(note, created.id)
    expect(await a.get(note, created.id)).toBeUndefined()
    await eventually(async () => (await b.get(note, created.id)) === undefined, 'b sees the delete')
    await eventually(() => a.status().pending === 0, 'a has nothing pending')
    expect((await server.current.engine.storage.getRecord(note, created.id))?.deletedAt).not.toBeNull()
    expect([a.status().transport, b.status().transport]).toEqual(['websocket', 'websocket'])
  })

  it('validates locally with the model: refused writes throw and queue nothing', async () => {
    const a = make({ autoSync: false })
    await expect(a.create(note, { title: 'x'.repeat(201) })).rejects.toMatchObject({ name: 'PulseError', code: 'validation_failed' })
    await expect(a.update(note, '0193a7e4-0000-7000-8000-000000000000', { title: 'y' })).rejects.toMatchObject({ code: 'not_found' })
    await expect(a.create('nope', {})).rejects.toMatchObject({ code: 'not_found' })
    expect(a.outbox()).toEqual([])
  })

  it('squashes edits of one record made before a sync into one mutation; create then delete sends nothing', async () => {
    const a = make({ autoSync: false })
    const n = await a.create(note, { title: 'one' })
    await a.update(note, n.id, { title: 'two' })
    await a.update(note, n.id, { priority: 3 })
    expect(a.outbox()).toHaveLength(1)
    expect(a.outbox()[0]?.mutation).toMatchObject({
      op: 'create',
      data: { title: 'two', priority: 3 },
      vclock: { [a.clientId as string]: 3 },
    })
    const gone = await a.create(note, { title: 'short-lived' })
    await a.delete(note, gone.id)
    expect(a.outbox()).toHaveLength(1)
    await a.sync()
    expect(await onServer(n.id)).toMatchObject({ title: 'two', priority: 3 })
    expect(await onServer(gone.id)).toBeUndefined()
    // After the sync, updates and a delete squash too, keeping the earliest baseVersion.
    await a.update(note, n.id, { title: 'three' })
    await a.delete(note, n.id)
    expect(a.outbox().map((e) => e.mutation)).toMatchObject([{ op: 'delete', baseVersion: 1 }])
    await a.sync()
    expect((await server.current.engine.storage.getRecord(note, n.id))?.deletedAt).not.toBeNull()
  })

  it('syncs over HTTP when the socket cannot connect, and polls for remote changes', async () => {
    const a = make({ wsUrl: 'ws://127.0.0.1:1/ws' })
    const b = make({ WebSocket: null })
    await eventually(() => a.status().transport === 'http' && b.status().transport === 'http', 'both on HTTP')
    const n = await a.create(note, { title: 'over http' })
    await eventually(async () => (await b.get(note, n.id))?.title === 'over http', 'b polls the create')
    expect(a.status().online).toBe(true)
  })

  it('never lets the answer to an older push overwrite a local edit made while it was in flight', async () => {
    const releases: (() => void)[] = []
    let held = false
    const gate: FetchLike = async (url, init) => {
      if (url.endsWith('/api/sync/push') && held) await new Promise<void>((r) => releases.push(r))
      return fetch(url, init as RequestInit)
    }
    const a = make({ WebSocket: null, fetch: gate, autoSync: false })
    const n = await a.create(note, { title: 'v1', body: 'b' })
    await a.sync()
    held = true
    await a.update(note, n.id, { title: 'v2' })
    const syncing = a.sync()
    await eventually(() => releases.length === 1, 'the first push is in flight')
    await a.update(note, n.id, { title: 'v3', priority: 4 })
    expect(a.outbox().map((e) => [e.status, e.mutation.data])).toEqual([
      ['SYNCING', { title: 'v2' }],
      ['PENDING', { title: 'v3', priority: 4 }],
    ])
    releases.shift()?.()
    await eventually(() => releases.length === 1, 'the answer is in and the second push is in flight')
    // The answer (title v2, version 2) came back; the newer edit stays on top, rebased on it.
    expect(await a.get(note, n.id)).toMatchObject({ title: 'v3', priority: 4, version: 2, localOnly: true })
    expect(a.outbox().map((e) => e.mutation)).toMatchObject([{ op: 'update', baseVersion: 2, data: { title: 'v3', priority: 4 } }])
    held = false
    releases.shift()?.()
    await syncing
    expect(await a.get(note, n.id)).toMatchObject({ title: 'v3', priority: 4, version: 3, localOnly: false })
    expect(await onServer(n.id)).toMatchObject({ title: 'v3', priority: 4 })
  })

  it('keeps pending local fields on top of incoming changes of the same record', async () => {
    const net = createTestNetwork()
    const a = make({ fetch: net.fetch, WebSocket: net.WebSocket })
    const b = make()
    const n = await a.create(note, { title: 'shared', body: 'start' })
    await eventually(async () => (await b.get(note, n.id))?.title === 'shared', 'b has it')
    await eventually(() => a.status().pending === 0, 'a synced')
    net.down()
    await b.update(note, n.id, { priority: 5, title: 'theirs' })
    await eventually(async () => (await onServer(n.id))?.priority === 5, 'b synced')
    await a.update(note, n.id, { title: 'mine' })
    // a takes in b's change while its own edit is pending: its title stays on top, b's priority arrives.
    net.up()
    await eventually(async () => (await a.get(note, n.id))?.priority === 5, 'a received b’s change')
    expect((await a.get(note, n.id))?.title).toBe('mine')
    await eventually(() => a.status().pending === 0, 'a pushed')
    await eventually(async () => (await b.get(note, n.id))?.title === 'mine', 'b receives a’s edit')
    expect(await a.get(note, n.id)).toMatchObject({ title: 'mine', priority: 5, localOnly: false }) // lww: a’s edit is later
    expect(await onServer(n.id)).toMatchObject({ title: 'mine', priority: 5 })
  })

  it('rejected: the record keeps its local state with syncError (a create stays localOnly), the queue moves on', async () => {
    // An older app build: looser than the server's model, so the server refuses what it allowed.
    const looseNote = defineModel('note', { fields: { ...note.fields, title: f.string({ max: 1000, default: '' }) } })
    const a = testClient(server.url, [looseNote], { autoSync: false })
    clients.push(a)
    const rejected: string[] = []
    a.on('rejected', (e) => rejected.push(`${e.op}:${e.error.code}`))
    const bad = await a.create(looseNote, { title: 'x'.repeat(300) })
    const good = await a.create(looseNote, { title: 'fine' })
    await a.sync()
    expect(rejected).toEqual(['create:validation_failed'])
    expect(await a.get(looseNote, bad.id)).toMatchObject({ localOnly: true, syncError: { code: 'validation_failed' } })
    expect(await a.get(looseNote, good.id)).toMatchObject({ localOnly: false, syncError: null, version: 1 })
    expect(a.outbox()).toEqual([])
    // A refused update falls back to the server's state, flagged.
    await a.update(looseNote, good.id, { title: 'y'.repeat(300) })
    await a.sync()
    expect(await a.get(looseNote, good.id)).toMatchObject({ title: 'fine', localOnly: false, syncError: { code: 'validation_failed' } })
    expect(rejected).toEqual(['create:validation_failed', 'update:validation_failed'])
    // The next accepted change clears the flag.
    await a.update(looseNote, good.id, { title: 'better' })
    await a.sync()
    expect(await a.get(looseNote, good.id)).toMatchObject({ title: 'better', syncError: null })
    // A refused create, once fixed, goes again as a create.
    await a.update(looseNote, bad.id, { title: 'fixed' })
    expect(a.outbox().map((e) => [e.mutation.op, e.mutation.data?.title])).toEqual([['create', 'fixed']])
    await a.sync()
    expect(await a.get(looseNote, bad.id)).toMatchObject({ title: 'fixed', localOnly: false, syncError: null, version: 1 })
    expect((await server.current.engine.storage.getRecord(note, bad.id))?.values.title).toBe('fixed')
    // A refused create deleted locally needs no mutation at all.
    const refused = await a.create(looseNote, { title: 'z'.repeat(300) })
    await a.sync()
    await a.delete(looseNote, refused.id)
    expect(a.outbox()).toEqual([])
    expect(await a.get(looseNote, refused.id)).toBeUndefined()
  })

  it('a refused mutation is counted in the status and listed with its reason; it can be sent again or discarded', async () => {
    const looseNote = defineModel('note', { fields: { ...note.fields, title: f.string({ max: 1000, default: '' }) } })
    const a = testClient(server.url, [looseNote], { autoSync: false })
    clients.push(a)
    let heard = 0
    a.subscribeRejections(() => {
      heard += 1
    })
    const bad = await a.create(looseNote, { title: 'x'.repeat(300) })
    const good = await a.create(looseNote, { title: 'fine' })
    await a.sync()
    expect(a.status()).toMatchObject({ pending: 0, failed: 0, rejected: 1, lastError: { code: 'validation_failed' } })
    const [first] = a.rejections()
    expect(a.rejections()).toEqual([
      {
        mid: first?.mid,
        model: 'note',
        id: bad.id,
        op: 'create',
        data: expect.objectContaining({ title: 'x'.repeat(300) }),
        kind: 'rejected',
        error: expect.objectContaining({ code: 'validation_failed' }),
        createdAt: expect.any(String),
      },
    ])
    expect(heard).toBe(1)
    expect(a.rejections()).toBe(a.rejections())
    // Sent again, it is refused again (nothing changed): still listed once, under a new mid.
    expect(await a.retryRejections()).toBe(1)
    expect(a.status().rejected).toBe(0)
    await a.sync()
    expect(a.rejections().map((r) => r.id)).toEqual([bad.id])
    expect(a.rejections()[0]?.mid).toBeGreaterThan(first?.mid as number)
    // Discarded: a create the server never had goes with it.
    expect(await a.discardRejections([a.rejections()[0]?.mid as number])).toBe(1)
    expect(a.rejections()).toEqual([])
    expect(await a.get(looseNote, bad.id)).toBeUndefined()
    expect(a.status().rejected).toBe(0)
    // A refused update: the record shows the server's state; discarding clears the flag.
    await a.update(looseNote, good.id, { title: 'y'.repeat(300) })
    await a.sync()
    expect(a.rejections()).toMatchObject([{ op: 'update', id: good.id, kind: 'rejected' }])
    expect(await a.get(looseNote, good.id)).toMatchObject({ title: 'fine', syncError: { code: 'validation_failed' } })
    await a.discardRejections()
    expect(await a.get(looseNote, good.id)).toMatchObject({ title: 'fine', syncError: null, localOnly: false })
    // A refused create fixed by a later edit is superseded by the create that edit queues.
    const again = await a.create(looseNote, { title: 'z'.repeat(300) })
    await a.sync()
    expect(a.rejections().map((r) => r.id)).toEqual([again.id])
    await a.update(looseNote, again.id, { title: 'fixed' })
    expect(a.rejections()).toEqual([])
    await a.sync()
    expect(await onServer(again.id)).toMatchObject({ title: 'fixed' })
  })

  it('whenSynced resolves once the outbox is empty and the cursor at the head; it waits through offline periods', async () => {
    const net = createTestNetwork()
    const a = make({ fetch: net.fetch, WebSocket: net.WebSocket })
    await a.whenSynced()
    expect(a.status()).toMatchObject({ upToDate: true, pending: 0, transport: 'websocket' })
    net.down()
    const created = await Promise.all([1, 2, 3].map((i) => a.create(note, { title: `synced ${i}` })))
    expect(a.status().upToDate).toBe(false)
    let done = false
    const synced = a.whenSynced().then(() => {
      done = true
    })
    await new Promise((r) => setTimeout(r, 200))
    expect(done).toBe(false)
    net.up()
    await synced
    for (const n of created) expect(await onServer(n.id)).toMatchObject({ title: n.title })
    expect(a.status()).toMatchObject({ pending: 0, upToDate: true })
    // An abandoned wait rejects.
    net.down()
    await a.update(note, created[0]?.id as string, { title: 'pending' })
    const controller = new AbortController()
    const waiting = a.whenSynced({ signal: controller.signal })
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    const closing = a.whenSynced()
    await a.close()
    await expect(closing).rejects.toMatchObject({ name: 'ClientClosedError' })
  })

  it('conflict: emits an event; conflicts() lists it; resolveConflict applies the choice everywhere', async () => {
    const netA = createTestNetwork()
    const a = make({ fetch: netA.fetch, WebSocket: netA.WebSocket })
    const b = make()
    const n = await a.create(note, { title: 'c', secret: 'base' })
    await eventually(async () => (await b.get(note, n.id))?.secret === 'base', 'b has it')
    await eventually(() => a.status().pending === 0, 'a synced')
    netA.down()
    await b.update(note, n.id, { secret: 'from b' })
    await eventually(async () => (await onServer(n.id))?.secret === 'from b', 'b synced')
    const events: string[] = []
    a.on('conflict', (e) => events.push(`${e.model}:${e.conflict.fields.join()}:${e.record?.secret}`))
    await a.update(note, n.id, { secret: 'from a', title: 'c2' })
    netA.up()
    await eventually(() => events.length === 1, 'a hears of the conflict')
    expect(events).toEqual(['note:secret:from b'])
    // The server kept its value for the manual field and applied the other one.
    expect(await a.get(note, n.id)).toMatchObject({ secret: 'from b', title: 'c2', localOnly: false })
    const open = (await a.conflicts({ status: 'open' })).filter((c) => c.recordId === n.id)
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ local: { secret: 'from a' }, remote: { secret: 'from b' } })
    const { conflict, record } = await a.resolveConflict(open[0]?.id as string, 'local')
    expect(conflict.status).toBe('resolved')
    expect(record).toMatchObject({ secret: 'from a', localOnly: false })
    await eventually(async () => (await b.get(note, n.id))?.secret === 'from a', 'b receives the resolution')
    await expect(a.resolveConflict(open[0]?.id as string, 'remote')).rejects.toBeInstanceOf(PulseError)
  })

  it('live queries emit on local and remote writes, only when their results change, with stable snapshots', async () => {
    const a = make()
    const b = make()
    const body = `live ${Date.now()}` // other tests' notes share the server
    const live = a.live(note, { where: { body, priority: { gte: 2 } }, orderBy: { field: 'priority', direction: 'desc' } })
    expect(live.getSnapshot()).toBeUndefined()
    let calls = 0
    const unsubscribe = live.subscribe(() => {
      calls += 1
    })
    await a.ready
    await eventually(() => live.getSnapshot() !== undefined, 'loaded')
    const before = calls
    const first = live.getSnapshot()
    expect(live.getSnapshot()).toBe(first)

    const low = await a.create(note, { title: 'low', priority: 1, body })
    expect(calls).toBe(before) // not in the results: no emission
    expect(live.getSnapshot()).toBe(first)
    const high = await a.create(note, { title: 'high', priority: 3, body })
    expect(calls).toBe(before + 1)
    expect(live.getSnapshot()?.map((r) => r.title)).toEqual(['high'])

    // A remote write that enters the results.
    const t0 = performance.now()
    const remote = await b.create(note, { title: 'remote top', priority: 5, body })
    await eventually(() => live.getSnapshot()?.[0]?.id === remote.id, 'the remote note appears')
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(live.getSnapshot()?.map((r) => r.title)).toEqual(['remote top', 'high'])
    // A remote change that moves a record out.
    await b.ready
    await eventually(async () => (await b.get(note, high.id)) !== undefined, 'b has high')
    await b.update(note, high.id, { priority: 0 })
    await eventually(() => live.getSnapshot()?.length === 1, 'high leaves the results')
    expect(a.liveRecord(note, low.id).getSnapshot()?.title).toBe('low')
    expect(a.liveRecord(note, '0193a7e4-0000-7000-8000-000000000000').getSnapshot()).toBeNull()
    unsubscribe()
    const n = calls
    await a.create(note, { title: 'after unsubscribe', priority: 9, body })
    expect(calls).toBe(n)
  })

  it('queries: where with comparisons, in, ne; orderBy; limit', async () => {
    const a = make({ autoSync: false })
    for (const [title, priority, status, price] of [
      ['a', 1, 'todo', '5.50'],
      ['b', 2, 'doing', '10.50'],
      ['c', 3, 'done', '15.50'],
      ['d', 2, 'todo', '10.75'],
    ] as const) {
      await a.create(note, { title, priority, status, price })
    }
    const titles = async (q: Parameters<typeof a.query>[1]) => (await a.query(note, q)).map((r) => r.title)
    expect(await titles({ where: { priority: 2 }, orderBy: 'title' })).toEqual(['b', 'd'])
    expect(await titles({ where: { priority: { gt: 1, lte: 3 }, status: { ne: 'done' } }, orderBy: 'title' })).toEqual(['b', 'd'])
    expect(
      await titles({ where: { status: { in: ['done', 'todo'] } }, orderBy: [{ field: 'status', direction: 'desc' }, 'title'] }),
    ).toEqual(['c', 'a', 'd'])
    expect(await titles({ orderBy: { field: 'price', direction: 'desc' }, limit: 2 })).toEqual(['c', 'd'])
    expect(await titles({ where: { price: { gte: '10.5' } }, orderBy: 'price' })).toEqual(['b', 'd', 'c'])
    expect(await titles({ where: { price: { lt: '10.750' } }, orderBy: { field: 'price', direction: 'desc' } })).toEqual(['b', 'a'])
    expect(await titles({ where: { localOnly: true }, limit: 1 })).toHaveLength(1)
    await expect(a.query(note, { where: { nope: 1 } as never })).rejects.toMatchObject({ code: 'bad_request' })
  })

  it('retries refused pushes with backoff, turns them FAILED after the last attempt, and retryFailed sends them again', async () => {
    let failing = true
    const flaky: FetchLike = async (url, init) => {
      if (failing && url.endsWith('/api/sync/push')) {
        return { status: 500, ok: false, text: async () => JSON.stringify({ error: { code: 'internal_error', message: 'broken' } }) }
      }
      return fetch(url, init as RequestInit)
    }
    const a = make({ WebSocket: null, fetch: flaky })
    const n = await a.create(note, { title: 'stubborn' })
    await eventually(() => a.status().failed === 1, 'the mutation gave up', 5000)
    expect(a.outbox()[0]).toMatchObject({ status: 'FAILED', attempts: 3, lastError: { code: 'internal_error' } })
    expect(a.status()).toMatchObject({ pending: 0, failed: 1 })
    expect(a.errors.some((e) => (e as PulseError).code === 'internal_error')).toBe(true)
    failing = false
    expect(await a.retryFailed()).toBe(1)
    await eventually(() => a.status().failed === 0 && a.status().pending === 0, 'sent again')
    expect(await onServer(n.id)).toMatchObject({ title: 'stubborn' })
  })

  for (const code of ['shutting_down', 'database_unavailable'] as const) {
    it(`a push answered 503 ${code} (nothing applied) stays pending however often, and goes as soon as the server is back`, async () => {
      let refusals = 0
      let failing = true
      const unavailable: FetchLike = async (url, init) => {
        if (failing && url.endsWith('/api/sync/push') && JSON.parse(String(init?.body)).mutations.length > 0) {
          refusals += 1
          return { status: 503, ok: false, text: async () => JSON.stringify({ error: { code, message: 'not now' } }) }
        }
        return fetch(url, init as RequestInit)
      }
      const a = make({ WebSocket: null, fetch: unavailable })
      const n = await a.create(note, { title: 'patient' })
      // More 503s than a mutation has attempts (3): none counts against it.
      await eventually(() => refusals > 4, 'several pushes refused', 10_000)
      expect(a.status()).toMatchObject({ failed: 0, pending: 1 })
      expect(a.outbox()[0]).toMatchObject({ status: 'PENDING' })
      failing = false
      await a.sync()
      expect(await onServer(n.id)).toMatchObject({ title: 'patient' })
      await a.whenSynced()
      expect(a.status()).toMatchObject({ failed: 0, pending: 0 })
    })
  }

  it('a fresh store with a used device id: duplicate answers to never-sent mids renumber them, nothing is lost', async () => {
    const clientId = `reused-${Date.now()}`
    const first = make({ clientId, autoSync: false })
    for (let i = 0; i < 3; i++) await first.create(note, { title: `first ${i}` })
    await first.sync()
    const second = make({ clientId, autoSync: false })
    const n = await second.create(note, { title: 'second' })
    expect(second.outbox()[0]?.mutation.mid).toBe(1)
    await second.sync()
    await second.sync()
    expect(await onServer(n.id)).toMatchObject({ title: 'second' })
    expect(second.outbox()).toEqual([])
  })

  it('reports its status: ready, online and transport, pending, lastSyncedAt; follows platform offline/online events', async () => {
    const listeners: { online?: () => void; offline?: () => void } = {}
    let platformOnline = true
    const a = make({
      connectivity: {
        isOnline: () => platformOnline,
        watch(onOnline, onOffline) {
          listeners.online = onOnline
          listeners.offline = onOffline
          return () => {}
        },
      },
    })
    const seen: string[] = []
    a.subscribeStatus(() => seen.push(`${a.status().online}/${a.status().transport}`))
    await eventually(() => a.status().transport === 'websocket', 'connected')
    expect(a.status()).toMatchObject({ ready: true, online: true, pending: 0, failed: 0 })
    expect(a.status().lastSyncedAt).not.toBeNull()
    const snapshot = a.status()
    expect(a.status()).toBe(snapshot)

    platformOnline = false
    listeners.offline?.()
    expect(a.status()).toMatchObject({ online: false, transport: null })
    const n = await a.create(note, { title: 'offline' })
    await new Promise((r) => setTimeout(r, 100))
    expect(a.status().pending).toBe(1)
    await expect(a.sync()).rejects.toMatchObject({ name: 'NetworkError' })
    platformOnline = true
    listeners.online?.()
    await eventually(() => a.status().pending === 0, 'synced after online')
    expect(await onServer(n.id)).toMatchObject({ title: 'offline' })
    expect(seen).toContain('false/null')
    expect(seen[seen.length - 1]).toBe('true/websocket')
  })

  it('never says "websocket" before its first sync over the socket: lastSyncedAt is set by then', async () => {
    const a = make()
    const seen: { transport: string | null; lastSyncedAt: string | null }[] = []
    a.subscribeStatus(() => seen.push({ transport: a.status().transport, lastSyncedAt: a.status().lastSyncedAt }))
    await eventually(() => a.status().transport === 'websocket', 'connected')
    expect(a.status().lastSyncedAt).not.toBeNull()
    expect(seen.filter((s) => s.transport !== null && s.lastSyncedAt === null)).toEqual([])
  })

  it('closes at once even while connecting to a host that never answers', async () => {
    // 10.255.255.1: packets are dropped, so connections neither open nor fail.
    const a = testClient('http://10.255.255.1:9', models, { timings: { connectTimeoutMs: 20_000 } })
    const n = await a.create(note, { title: 'kept locally' })
    await new Promise((r) => setTimeout(r, 100))
    const t0 = performance.now()
    await a.close()
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(n.localOnly).toBe(true)
    expect(a.errors).toEqual([])
  })

  it('a socket that cannot be opened by a broken WebSocket implementation falls back without unhandled errors', async () => {
    const Broken = (() => {
      throw new Error('no sockets here')
    }) as unknown as WebSocketConstructor
    const a = make({ WebSocket: Broken })
    await eventually(() => a.status().transport === 'http', 'on HTTP')
    const n = await a.create(note, { title: 'via http' })
    await eventually(async () => (await onServer(n.id))?.title === 'via http', 'pushed')
  })
})
