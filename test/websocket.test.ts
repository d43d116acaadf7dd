/**
 * The WebSocket endpoint (PROTOCOL.md §6) end to end: a real server on SQLite with the tasks
 * example, real `ws` clients.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeCursor, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, PulseError, type ServerMessage, uuidv7 } from '@pulse/core'
import { type Bus, createMemoryBus, createSqliteStorage, type RunningServer, schemaOf, systemContext } from '@pulse/server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { httpClient, startTestServer, type TestServerOptions } from './support/server.ts'
import { connectWs, helloAndCatchUp, type MessageOf, type WsClient } from './support/ws-client.ts'

const schema = schemaOf(config)
const FRAME_LIMIT = 64 * 1024

async function start(options: TestServerOptions = {}): Promise<RunningServer> {
  const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-ws-')), 'pulse.db') })
  return startTestServer(schema, storage, {
    ...options,
    realtime: { helloTimeoutMs: 300, maxFrameBytes: FRAME_LIMIT, ...options.realtime },
  })
}

const isChanges = (m: ServerMessage): m is MessageOf<'changes'> => m.type === 'changes'
const titles = (m: MessageOf<'changes'>) =>
  m.changes.map((c) => (c.record as { title?: string; name?: string }).title ?? (c.record as { name?: string }).name)

function itemMutation(clientId: string, mid: number, name: string, id = uuidv7()) {
  return { mid, model: 'item', op: 'create', id, vclock: { [clientId]: mid }, data: { name, price: '3.00' }, at: new Date().toISOString() }
}

describe('WebSocket /ws', () => {
  let server: RunningServer
  let http: ReturnType<typeof httpClient>
  const clients: WsClient[] = []
  const connect = async () => {
    const c = await connectWs(server.url)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    server = await start()
    http = httpClient(server.url)
    // More than one catch-up page (500) of items, in one transaction.
    const ops = Array.from({ length: 620 }, (_, i) => ({
      op: 'create' as const,
      model: 'item',
      data: { name: `item ${i}`, price: '1.00' },
    }))
    const { outcomes } = await server.engine.write(systemContext(), ops, { atomic: true })
    expect(outcomes.every((o) => o.ok)).toBe(true)
  })
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
  })
  afterAll(async () => {
    await server.close()
  })

  it('welcomes a hello and streams catch-up pages until hasMore is false, cursors advancing', async () => {
    const client = await connect()
    const { welcome, pages } = await helloAndCatchUp(client, { clientId: 'dev-catchup' })
    expect(welcome).toEqual({ type: 'welcome', userId: null, serverTime: expect.any(String) })
    expect(Math.abs(Date.parse(welcome.serverTime) - Date.now())).toBeLessThan(5000)
    expect(pages.length).toBeGreaterThanOrEqual(2)
    expect(pages[0]?.hasMore).toBe(true)
    expect(pages[0]?.changes).toHaveLength(500)
    const positions = pages.map((p) => decodeCursor(p.cursor))
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    expect(new Set(positions).size).toBe(positions.length)
    const items = new Set(pages.flatMap((p) => p.changes.filter((c) => c.model === 'item').map((c) => c.record.id)))
    expect(items.size).toBeGreaterThanOrEqual(620)

    // A hello from the last cursor has nothing to catch up on.
    const again = await connect()
    const second = await helloAndCatchUp(again, { clientId: 'dev-catchup-2', cursor: pages.at(-1)?.cursor ?? null })
    expect(second.pages).toHaveLength(1)
    expect(second.pages[0]?.changes).toEqual([])
  })

  it('streams REST writes live to every connected client, in commit order', async () => {
    const a = await connect()
    const b = await connect()
    const caughtA = await helloAndCatchUp(a, { clientId: 'dev-a' })
    await helloAndCatchUp(b, { clientId: 'dev-b' })
    for (const title of ['one', 'two', 'three']) expect((await http.post('/api/items', { name: title, price: '1.00' })).status).toBe(201)
    const created = (await http.post('/api/items', { name: 'four', price: '1.00' })).json
    expect((await http.patch(`/api/items/${created.id}`, { name: 'four, edited' })).status).toBe(200)
    for (const client of [a, b]) {
      const live = [
        await client.next(isChanges),
        await client.next(isChanges),
        await client.next(isChanges),
        await client.next(isChanges),
        await client.next(isChanges),
      ]
      expect(live.map((m) => titles(m as MessageOf<'changes'>))).toEqual([['one'], ['two'], ['three'], ['four'], ['four, edited']])
      const positions = live.map((m) => decodeCursor((m as MessageOf<'changes'>).cursor))
      expect(positions[0]).toBeGreaterThan(decodeCursor(caughtA.cursor))
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1] as number)
      expect(live.every((m) => (m as MessageOf<'changes'>).hasMore === false)).toBe(true)
    }
  })

  it('applies a push over the socket once: applied, then duplicate on retry; others see it live', async () => {
    const pusher = await connect()
    const watcher = await connect()
    await helloAndCatchUp(pusher, { clientId: 'dev-push' })
    await helloAndCatchUp(watcher, { clientId: 'dev-watch' })
    const push = { type: 'push', mutations: [itemMutation('dev-push', 1, 'pushed')] }
    pusher.send(push)
    const first = await pusher.nextOf('pushResult')
    expect(first.lastMid).toBe(1)
    expect(first.results).toEqual([{ mid: 1, status: 'applied', record: expect.objectContaining({ name: 'pushed', version: 1 }) }])
    const seen = await watcher.next(isChanges)
    expect(titles(seen as MessageOf<'changes'>)).toEqual(['pushed'])
    pusher.send(push)
    const retry = await pusher.nextOf('pushResult')
    expect(retry.results[0]?.status).toBe('duplicate')
    await watcher.expectNone(isChanges, 100)
  })

  it('answers ping with pong, before and after hello', async () => {
    const client = await connect()
    client.send({ type: 'ping' })
    await client.nextOf('pong')
    await helloAndCatchUp(client, { clientId: 'dev-ping' })
    client.send({ type: 'ping' })
    await client.nextOf('pong')
  })

  it('echoes request ids (version 2) on the reply that ends each request; version 1 clients are still served', async () => {
    const client = await connect()
    client.send({ type: 'hello', id: 'h1', clientId: 'dev-ids', cursor: null, schemaVersion: PROTOCOL_VERSION })
    await client.nextOf('welcome')
    const pages: MessageOf<'changes'>[] = []
    for (let page = await client.next(isChanges); ; page = await client.next(isChanges)) {
      pages.push(page as MessageOf<'changes'>)
      if (!(page as MessageOf<'changes'>).hasMore) break
    }
    // Only the last page of the catch-up ends the hello.
    expect(pages.map((p) => p.id)).toEqual([...pages.slice(1).map(() => undefined), 'h1'])
    client.send({ type: 'pull', id: 'p1', cursor: null, limit: 3 })
    expect(await client.next(isChanges)).toMatchObject({ id: 'p1', hasMore: true })
    client.send({ type: 'pull', id: 'p2', cursor: 'forged' })
    expect(await client.nextOf('error')).toMatchObject({ id: 'p2', code: 'bad_request' })
    client.send({ type: 'push', id: 'u1', mutations: [itemMutation('dev-ids', 1, 'with an id')] })
    expect(await client.nextOf('pushResult')).toMatchObject({ id: 'u1', results: [{ mid: 1, status: 'applied' }] })
    client.send({ type: 'push', id: 'x'.repeat(65), mutations: [] })
    expect(await client.nextOf('error')).toEqual({ type: 'error', code: 'bad_request', message: expect.stringContaining('id') })

    const old = await connect()
    const caughtUp = await helloAndCatchUp(old, { clientId: 'dev-v1', schemaVersion: MIN_PROTOCOL_VERSION })
    expect(caughtUp.pages.every((p) => p.id === undefined)).toBe(true)
    old.send({ type: 'pull', cursor: null, limit: 1 })
    old.send({ type: 'ping' })
    expect(((await old.next(isChanges)) as MessageOf<'changes'>).id).toBeUndefined()
    await old.nextOf('pong')
  })

  it('answers a pull with one page from the cursor given', async () => {
    const client = await connect()
    await helloAndCatchUp(client, { clientId: 'dev-pull' })
    client.send({ type: 'pull', cursor: null, limit: 7 })
    const page = await client.next(isChanges)
    expect((page as MessageOf<'changes'>).changes).toHaveLength(7)
    expect((page as MessageOf<'changes'>).hasMore).toBe(true)
  })

  it('keeps selective sync: a client of projects only gets no items, in catch-up or live', async () => {
    const client = await connect()
    // The newest commit is out of its view: its cursor must still follow on from it.
    expect((await http.post('/api/items', { name: 'before hello', price: '2.00' })).status).toBe(201)
    const { pages } = await helloAndCatchUp(client, { clientId: 'dev-projects', models: ['project'] })
    expect(pages.flatMap((p) => p.changes).every((c) => c.model === 'project')).toBe(true)
    expect((await http.post('/api/items', { name: 'not for you', price: '2.00' })).status).toBe(201)
    expect((await http.post('/api/projects', { name: 'for you', orgId: uuidv7() })).status).toBe(201)
    const live = (await client.next(isChanges)) as MessageOf<'changes'>
    expect(live.changes.map((c) => c.model)).toEqual(['project'])
    expect(titles(live)).toEqual(['for you'])
    await client.expectNone((m) => m.type === 'changes' || m.type === 'poke', 100)
  })

  it('refuses an unknown model in hello with an error and keeps the socket open', async () => {
    const client = await connect()
    client.send({ type: 'hello', clientId: 'dev-x', cursor: null, models: ['nope'] })
    expect(await client.nextOf('error')).toEqual({ type: 'error', code: 'not_found', message: expect.any(String) })
    await helloAndCatchUp(client, { clientId: 'dev-x', models: ['project'] })
  })

  it('answers bad input with an error and keeps working', async () => {
    const client = await connect()
    client.sendRaw('{not json')
    expect(await client.nextOf('error')).toEqual({ type: 'error', code: 'invalid_json', message: expect.any(String) })
    client.send({ type: 'subscribe' })
    expect((await client.nextOf('error')).code).toBe('bad_request')
    client.send({ type: 'hello', cursor: null })
    expect((await client.nextOf('error')).code).toBe('bad_request')
    client.send([1, 2])
    expect((await client.nextOf('error')).code).toBe('bad_request')
    await helloAndCatchUp(client, { clientId: 'dev-bad' })
    client.send({ type: 'push', mutations: [{ mid: 'x' }] })
    expect((await client.nextOf('error')).code).toBe('bad_request')
    client.send({ type: 'pull', cursor: 'forged' })
    expect((await client.nextOf('error')).code).toBe('bad_request')
    client.send({ type: 'ping' })
    await client.nextOf('pong')
    expect(client.ws.readyState).toBe(client.ws.OPEN)
  })

  describe('close codes', () => {
    it('4401: push or pull before hello', async () => {
      const pushing = await connect()
      pushing.send({ type: 'push', mutations: [itemMutation('dev-early', 1, 'early')] })
      expect((await pushing.closed).code).toBe(4401)
      const pulling = await connect()
      pulling.send({ type: 'pull', cursor: null })
      expect((await pulling.closed).code).toBe(4401)
    })

    it('4408: no hello in time', async () => {
      const client = await connect()
      const started = Date.now()
      expect((await client.closed).code).toBe(4408)
      expect(Date.now() - started).toBeLessThan(2000)
    })

    it('4409: a schema version the server does not speak (newer, or older than the oldest it serves)', async () => {
      for (const schemaVersion of [PROTOCOL_VERSION + 1, MIN_PROTOCOL_VERSION - 1]) {
        const client = await connect()
        client.send({ type: 'hello', clientId: 'dev-v2', cursor: null, schemaVersion })
        expect((await client.closed).code).toBe(4409)
      }
    })

    it('4429: a flood of messages', async () => {
      const client = await connect()
      for (let i = 0; i < 1000; i++) client.send({ type: 'ping' })
      expect((await client.closed).code).toBe(4429)
    })

    it('1009: a frame over the size limit', async () => {
      const client = await connect()
      client.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(FRAME_LIMIT + 10) }))
      expect((await client.closed).code).toBe(1009)
    })

    it('a misbehaving client does not disturb the others', async () => {
      const good = await connect()
      await helloAndCatchUp(good, { clientId: 'dev-good' })
      const flooder = await connect()
      for (let i = 0; i < 1000; i++) flooder.sendRaw('{oops')
      const giant = await connect()
      giant.sendRaw('x'.repeat(FRAME_LIMIT * 2))
      expect((await flooder.closed).code).toBe(4429)
      expect((await giant.closed).code).toBe(1009)
      expect((await http.post('/api/items', { name: 'still live', price: '1.00' })).status).toBe(201)
      expect(titles((await good.next(isChanges)) as MessageOf<'changes'>)).toEqual(['still live'])
      good.send({ type: 'ping' })
      await good.nextOf('pong')
    })
  })
})

describe('WebSocket /ws with its own server', () => {
  const servers: RunningServer[] = []
  const clients: WsClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  async function own(options: TestServerOptions = {}) {
    const s = await start(options)
    servers.push(s)
    return s
  }
  async function connect(s: RunningServer, options = {}) {
    const c = await connectWs(s.url, options)
    clients.push(c)
    return c
  }

  it('pokes a client left behind by a lost commit; its pull brings it back to live', async () => {
    // A bus that loses the next message, as Redis does when a connection drops.
    const inner = createMemoryBus()
    let dropNext = false
    const lossy: Bus = {
      publish: (m, signal) => {
        if (dropNext) {
          dropNext = false
          return Promise.resolve()
        }
        return inner.publish(m, signal)
      },
      subscribe: (h) => inner.subscribe(h),
      publishControl: (m, signal) => inner.publishControl(m, signal),
      subscribeControl: (h) => inner.subscribeControl(h),
      close: () => inner.close(),
    }
    const s = await own({ bus: lossy, realtime: { gapWaitMs: 50 } })
    const http = httpClient(s.url)
    const client = await connect(s)
    await http.post('/api/items', { name: 'before', price: '1.00' })
    const { cursor } = await helloAndCatchUp(client, { clientId: 'dev-behind' })
    await http.post('/api/items', { name: 'first live', price: '1.00' })
    expect(titles((await client.next(isChanges)) as MessageOf<'changes'>)).toEqual(['first live'])

    dropNext = true
    await http.post('/api/items', { name: 'lost', price: '1.00' })
    await http.post('/api/items', { name: 'after the gap', price: '1.00' })
    await client.nextOf('poke')
    await client.expectNone((m) => m.type === 'changes' || m.type === 'poke', 80)

    client.send({ type: 'pull', cursor })
    const page = (await client.next(isChanges)) as MessageOf<'changes'>
    expect(titles(page)).toEqual(['first live', 'lost', 'after the gap'])
    expect(page.hasMore).toBe(false)
    await http.post('/api/items', { name: 'live again', price: '1.00' })
    expect(titles((await client.next(isChanges)) as MessageOf<'changes'>)).toEqual(['live again'])
  })

  it('answers a catch-up from a purged cursor with cursor_expired; a pull from no cursor resyncs', async () => {
    const s = await own()
    const http = httpClient(s.url)
    const a = (await http.post('/api/items', { name: 'a', price: '1.00' })).json
    const b = (await http.post('/api/items', { name: 'b', price: '1.00' })).json
    expect((await http.delete(`/api/items/${a.id}`)).status).toBe(204)
    expect((await http.delete(`/api/items/${b.id}`)).status).toBe(204)
    await new Promise((r) => setTimeout(r, 5)) // purged: deleted strictly before now
    expect(await s.engine.purgeTombstones(0)).toBe(2)
    const client = await connect(s)
    client.send({ type: 'hello', clientId: 'dev-old', cursor: 'c1.1' })
    await client.nextOf('welcome')
    expect((await client.nextOf('error')).code).toBe('cursor_expired')
    client.send({ type: 'pull', cursor: null })
    expect(((await client.next(isChanges)) as MessageOf<'changes'>).hasMore).toBe(false)
    await http.post('/api/items', { name: 'c', price: '1.00' })
    expect(titles((await client.next(isChanges)) as MessageOf<'changes'>)).toEqual(['c'])
  })

  it('uses the authenticate hook: refused tokens close with 4401, forbidden with 4403', async () => {
    const s = await own({
      realtime: {
        authenticate: async (token, clientId) => {
          if (token === 'good') return { userId: 'u1', orgIds: [], deviceId: clientId, admin: false, scopeEpoch: 2 }
          if (token === 'banned') throw new PulseError('forbidden', 'banned')
          throw new PulseError('unauthenticated', 'bad token')
        },
      },
    })
    const good = await connect(s)
    const { welcome, cursor } = await helloAndCatchUp(good, { clientId: 'dev-u1', token: 'good' })
    expect(welcome.userId).toBe('u1')
    // Cursors carry the user's scope epoch, in catch-up and live alike, and pull back fine.
    expect(cursor).toMatch(/^c1\.[0-9a-z]+\.2$/)
    await httpClient(s.url).post('/api/items', { name: 'seen by u1', price: '1.00' })
    const live = (await good.next(isChanges)) as MessageOf<'changes'>
    expect(titles(live)).toEqual(['seen by u1'])
    expect(live.cursor).toMatch(/\.2$/)
    good.send({ type: 'pull', cursor: live.cursor })
    expect(((await good.next(isChanges)) as MessageOf<'changes'>).changes).toEqual([])
    const bad = await connect(s)
    bad.send({ type: 'hello', clientId: 'dev-bad', cursor: null, token: 'nope' })
    expect((await bad.closed).code).toBe(4401)
    const banned = await connect(s)
    banned.send({ type: 'hello', clientId: 'dev-banned', cursor: null, token: 'banned' })
    expect((await banned.closed).code).toBe(4403)
  })

  it('terminates a socket that stops answering pings', async () => {
    const s = await own({ realtime: { heartbeatIntervalMs: 100 } })
    const answering = await connect(s)
    const silent = await connect(s, { autoPong: false })
    await helloAndCatchUp(answering, { clientId: 'dev-alive' })
    await helloAndCatchUp(silent, { clientId: 'dev-silent' })
    expect((await silent.closed).code).toBe(1006)
    answering.send({ type: 'ping' })
    await answering.nextOf('pong')
  })
})
