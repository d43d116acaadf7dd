/**
 * The sync loop's states and transitions (sync-loop.ts), driven by a clock advanced by hand and
 * a scripted server (a fake WebSocket and fetch that answer as §3–§6 say, or not at all). No
 * real timer decides anything here: every transition happens because the test moved time or
 * the server said something.
 */
import { type ClientMessage, defineModel, defineSchema, f, type ServerMessage } from '@pulse/core'
import { afterEach, describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'
import { ManualClock, settle } from './manual-clock.test-support.ts'
import type { ConnectivityEvents, FetchLike, WebSocketConstructor, WebSocketLike } from './platform.ts'
import { loadReplica } from './replica.ts'
import { createMemoryStore } from './stores/memory-store.ts'
import { createSyncLoop, type SyncLoop, type SyncStateName, TRANSITIONS } from './sync-loop.ts'
import { StatusStore, type SyncStatus } from './sync-status.ts'
import type { SyncTimings } from './sync-timings.ts'
import { createHttpApi } from './transports/http-api.ts'

const note = defineModel('note', { fields: { title: f.string({ default: '' }) } })
const schema = defineSchema([note])

const TIMINGS: SyncTimings = {
  pushDebounceMs: 10,
  pollIntervalMs: 5000,
  reconnect: { baseMs: 1000, maxMs: 8000 },
  connectTimeoutMs: 3000,
  pingIntervalMs: 10_000,
  deadAfterMs: 5000,
  pullLimit: 100,
  maxBatch: 10,
  maxBatchChars: 100_000,
  retry: { baseMs: 1000, maxMs: 8000, maxAttempts: 3 },
}
/** With `random` fixed at 0.5 a backoff delay is 3/4 of its ceiling. */
const RANDOM = () => 0.5

/**
 * A server for one test: sockets are accepted, refused or left unanswered; each hello and pull
 * gets one empty page (or waits while `holdCatchUp`), each push an `applied` per mutation.
 */
class ScriptedServer {
  network: 'up' | 'down' = 'up'
  sockets: 'accept' | 'refuse' = 'accept'
  holdCatchUp = false
  /** The next HTTP pull from a cursor is refused with this §7 code (then served again). */
  refuseCursorWith: string | undefined
  /** What each socket received, in order. */
  readonly received: ClientMessage[] = []
  readonly open = new Set<FakeSocket>()
  position = 0
  private held: (() => void)[] = []

  connect(socket: FakeSocket): void {
    queueMicrotask(() => {
      if (this.network === 'down' || this.sockets === 'refuse') return socket.fail()
      this.open.add(socket)
      socket.opened()
    })
  }

  receive(socket: FakeSocket, message: ClientMessage): void {
    this.received.push(message)
    const page = (id?: string): ServerMessage => ({
      type: 'changes',
      ...(id ? { id } : {}),
      changes: [],
      cursor: `c${this.position}`,
      hasMore: false,
    })
    if (message.type === 'hello') {
      socket.deliver({ type: 'welcome', userId: null, serverTime: new Date(0).toISOString() })
      const end = () => socket.deliver(page(message.id))
      if (this.holdCatchUp) this.held.push(end)
      else end()
    } else if (message.type === 'pull') socket.deliver(page(message.id))
    else if (message.type === 'push') {
      const results = message.mutations.map((m) => ({ mid: m.mid, status: 'applied' as const, record: serverRecord(m.id, m.data) }))
      socket.deliver({
        type: 'pushResult',
        ...(message.id ? { id: message.id } : {}),
        lastMid: message.mutations.at(-1)?.mid ?? 0,
        results,
      })
    } else if (message.type === 'ping') socket.deliver({ type: 'pong' })
  }

  releaseCatchUp(): void {
    this.holdCatchUp = false
    for (const end of this.held.splice(0)) end()
  }

  /** Sends a message to every open socket. */
  broadcast(message: ServerMessage | string): void {
    for (const s of this.open) s.deliver(message)
  }

  /** Closes every open socket from the server's side. */
  closeAll(code: number, reason = ''): void {
    for (const s of [...this.open]) s.closedByServer(code, reason)
  }

  readonly fetch: FetchLike = async (url, init) => {
    if (this.network === 'down') throw new TypeError('fetch failed')
    if (this.refuseCursorWith && url.includes('cursor=')) {
      const code = this.refuseCursorWith
      this.refuseCursorWith = undefined
      return { status: 410, ok: false, text: async () => JSON.stringify({ error: { code, message: 'pull from no cursor' } }) }
    }
    const body = url.includes('/api/sync/pull')
      ? { changes: [], cursor: `c${this.position}`, hasMore: false }
      : {
          lastMid: 0,
          results: (JSON.parse(init?.body ?? '{}').mutations ?? []).map((m: { mid: number }) => ({ mid: m.mid, status: 'applied' })),
        }
    return { status: 200, ok: true, text: async () => JSON.stringify(body) }
  }

  readonly WebSocket: WebSocketConstructor = (() => {
    const server = this
    return class extends FakeSocket {
      constructor(url: string) {
        super(url, server)
      }
    }
  })()
}

function serverRecord(id: string, data: Record<string, unknown> | undefined) {
  const at = '2026-11-23T10:00:00.000Z'
  return { id, version: 1, vclock: { me: 1 }, createdAt: at, updatedAt: at, deletedAt: null, title: '', ...data }
}

class FakeSocket implements WebSocketLike {
  readyState = 0
  private readonly listeners = new Map<string, ((event: never) => void)[]>()
  constructor(
    readonly url: string,
    private readonly server: ScriptedServer,
  ) {
    server.connect(this)
  }
  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }
  private emit(type: string, event: unknown): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: unknown) => void)(event)
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open')
    const message = JSON.parse(data) as ClientMessage
    setTimeout(() => this.server.receive(this, message), 0)
  }
  close(code = 1000, reason = ''): void {
    if (this.readyState > 1) return
    this.readyState = 3
    this.server.open.delete(this)
    setTimeout(() => this.emit('close', { code, reason }), 0)
  }
  opened(): void {
    this.readyState = 1
    this.emit('open', {})
  }
  fail(): void {
    this.readyState = 3
    this.emit('error', {})
    this.emit('close', { code: 1006, reason: '' })
  }
  deliver(message: ServerMessage | string): void {
    if (this.readyState !== 1) return
    setTimeout(() => this.emit('message', { data: typeof message === 'string' ? message : JSON.stringify(message) }), 0)
  }
  closedByServer(code: number, reason: string): void {
    this.readyState = 3
    this.server.open.delete(this)
    setTimeout(() => this.emit('close', { code, reason }), 0)
  }
}

interface Harness {
  loop: SyncLoop
  clock: ManualClock
  server: ScriptedServer
  status: StatusStore
  /** Every status snapshot, in order. */
  statuses: SyncStatus[]
  /** Every state the loop went through, in order (the first is the state after `start`). */
  states: SyncStateName[]
  errors: unknown[]
  unauthorized: unknown[]
  scopeChanges: number
  platform: { online(): void; offline(): void }
}

const harnesses: Harness[] = []
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.loop.close()
})

async function harness(extra: { onUnauthorized?: (e: unknown) => void | Promise<void>; server?: ScriptedServer } = {}): Promise<Harness> {
  const clock = new ManualClock()
  const server = extra.server ?? new ScriptedServer()
  const errors: unknown[] = []
  const onError = (e: unknown) => errors.push(e)
  const status = new StatusStore(onError)
  const replica = await loadReplica({
    store: createMemoryStore(),
    schema,
    clientId: 'me',
    onError,
    clock,
    listeners: { records: () => {}, outbox: (counts) => status.update(counts) },
  })
  let online = true
  const watchers: { online?: () => void; offline?: () => void } = {}
  const connectivity: ConnectivityEvents = {
    isOnline: () => online,
    watch(onOnline, onOffline) {
      watchers.online = onOnline
      watchers.offline = onOffline
      return () => {}
    },
  }
  const h: Harness = {
    clock,
    server,
    status,
    statuses: [],
    states: [],
    errors,
    unauthorized: [],
    scopeChanges: 0,
    platform: {
      online: () => {
        online = true
        watchers.online?.()
      },
      offline: () => {
        online = false
        watchers.offline?.()
      },
    },
    loop: undefined as unknown as SyncLoop,
  }
  h.loop = createSyncLoop({
    replica,
    http: createHttpApi({ baseUrl: 'http://server', fetch: server.fetch, timeoutMs: 30_000, clock }),
    WebSocket: server.WebSocket,
    wsUrl: 'ws://server/ws',
    auth: undefined,
    status,
    connectivity,
    events: { conflict: () => {}, rejected: () => {} },
    timings: TIMINGS,
    clock,
    onError,
    random: RANDOM,
    onUnauthorized: (e) => {
      h.unauthorized.push(e)
      return extra.onUnauthorized?.(e)
    },
    onScopeChanged: () => {
      h.scopeChanges += 1
    },
  })
  status.subscribe(() => h.statuses.push(status.get()))
  h.loop.watch((state) => h.states.push(state))
  harnesses.push(h)
  return h
}

/** Asserts every consecutive pair of states is a transition the table allows. */
function expectLegal(states: readonly SyncStateName[]): void {
  for (let i = 1; i < states.length; i++) {
    const [from, to] = [states[i - 1] as SyncStateName, states[i] as SyncStateName]
    expect(TRANSITIONS[from], `${from} → ${to}`).toContain(to)
  }
}

describe('sync loop states', () => {
  it('lists a transition for every state, and none out of closed', () => {
    const names = Object.keys(TRANSITIONS) as SyncStateName[]
    expect(names.sort()).toEqual(['backoff', 'closed', 'connecting', 'http', 'idle', 'offline', 'socket'])
    for (const name of names) for (const to of TRANSITIONS[name]) expect(names).toContain(to)
    expect(TRANSITIONS.closed).toEqual([])
    for (const name of names.filter((n) => n !== 'closed')) expect(TRANSITIONS[name]).toContain('closed')
  })

  it('says "websocket" only once the catch-up is over, together with lastSyncedAt', async () => {
    const h = await harness()
    h.server.holdCatchUp = true
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('connecting')
    expect(h.status.get()).toMatchObject({ online: false, transport: null, lastSyncedAt: null, upToDate: false })
    h.server.releaseCatchUp()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('socket')
    expect(h.status.get()).toMatchObject({ online: true, transport: 'websocket', upToDate: true })
    expect(h.status.get().lastSyncedAt).toBe(new Date(h.clock.now()).toISOString())
    expect(h.statuses.filter((s) => s.transport !== null && s.lastSyncedAt === null)).toEqual([])
    expect(h.server.received.map((m) => [m.type, 'id' in m ? m.id : undefined])).toEqual([['hello', 'hello']])
    expect(h.errors).toEqual([])
  })

  it('backs off with growing delays while the server cannot be reached, then connects', async () => {
    const h = await harness()
    h.server.network = 'down'
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('backoff')
    expect(h.status.get().lastError?.code).toBe('network_error')
    for (const failures of [1, 2, 3]) {
      const delay = backoffDelay(failures, TIMINGS.reconnect, RANDOM)
      await h.clock.advance(delay - 1)
      expect(h.loop.state, `still waiting after failure ${failures}`).toBe('backoff')
      await h.clock.advance(1)
      expect(h.loop.state === 'connecting' || h.loop.state === 'backoff').toBe(true)
    }
    h.server.network = 'up'
    await h.clock.advance(backoffDelay(4, TIMINGS.reconnect, RANDOM))
    expect(h.loop.state).toBe('socket')
    expect(h.states.filter((s) => s === 'backoff')).toHaveLength(4)
    expectLegal(h.states)
    expect(h.errors).toEqual([])
  })

  it('falls back to HTTP when the socket is refused, polls, and moves to the socket once it opens', async () => {
    const h = await harness()
    h.server.sockets = 'refuse'
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('http')
    expect(h.status.get()).toMatchObject({ online: true, transport: 'http', upToDate: true })
    await h.clock.advance(TIMINGS.pollIntervalMs)
    expect(h.loop.state).toBe('http')
    h.server.sockets = 'accept'
    await h.clock.advance(TIMINGS.pollIntervalMs - 1)
    expect(h.loop.state).toBe('http')
    await h.clock.advance(1)
    expect(h.loop.state).toBe('socket')
    expect(h.states).toEqual(['connecting', 'http', 'socket'])
    // The status never dropped to offline while the poll tried the socket.
    expect(h.statuses.filter((s, i) => i > h.statuses.findIndex((x) => x.transport === 'http') && !s.online)).toEqual([])
  })

  it('follows the platform: offline from any state, connecting again when back online', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('socket')
    h.platform.offline()
    expect(h.loop.state).toBe('offline')
    expect(h.status.get()).toMatchObject({ online: false, transport: null, upToDate: false })
    await h.clock.advance(60_000)
    expect(h.loop.state).toBe('offline')
    await expect(h.loop.sync()).rejects.toMatchObject({ name: 'NetworkError' })
    h.platform.online()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('socket')
    expect(h.states).toEqual(['connecting', 'socket', 'offline', 'connecting', 'socket'])
  })

  it('a lost socket waits one backoff step and reconnects; a silent one is given up after ping + dead time', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    h.server.closeAll(1006)
    await h.clock.advance(0)
    expect(h.loop.state).toBe('backoff')
    await h.clock.advance(backoffDelay(1, TIMINGS.reconnect, RANDOM))
    expect(h.loop.state).toBe('socket')

    // The server stops answering anything (pings included).
    const silent = [...h.server.open]
    h.server.receive = (_s, m) => void h.server.received.push(m)
    await h.clock.advance(TIMINGS.pingIntervalMs)
    expect(h.server.received.at(-1)).toEqual({ type: 'ping' })
    expect(h.loop.state).toBe('socket')
    await h.clock.advance(TIMINGS.deadAfterMs + TIMINGS.pingIntervalMs)
    expect(h.loop.state).not.toBe('socket')
    expect(silent.every((s) => s.readyState === 3)).toBe(true)
    expectLegal(h.states)
  })

  it('a poke makes it pull (by request id) and not up to date until the page is in', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    expect(h.status.get().upToDate).toBe(true)
    h.server.broadcast({ type: 'poke' })
    await settle()
    const pulls = h.server.received.filter((m) => m.type === 'pull')
    expect(pulls).toHaveLength(1)
    expect(pulls[0]).toMatchObject({ id: expect.any(String), cursor: 'c0' })
    expect(h.statuses.some((s) => s.online && !s.upToDate)).toBe(true)
    expect(h.status.get().upToDate).toBe(true)
    expect(h.server.received.some((m) => m.type === 'ping')).toBe(false)
  })

  it('scope_changed + 4401: resyncs from no cursor on a new socket at once, without asking for credentials', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    h.server.position = 7
    h.server.broadcast({ type: 'poke' })
    await settle()
    h.server.broadcast({ type: 'error', code: 'scope_changed', message: 'your organizations changed' })
    h.server.closeAll(4401, 'scope changed')
    await h.clock.advance(0)
    expect(h.loop.state).toBe('socket')
    const hellos = h.server.received.filter((m) => m.type === 'hello')
    expect(hellos.map((m) => (m as { cursor: string | null }).cursor)).toEqual([null, null])
    expect(h.scopeChanges).toBe(1)
    expect(h.unauthorized).toEqual([])
    expect(h.states).toEqual(['connecting', 'socket', 'connecting', 'socket'])
  })

  it('over HTTP, a pull answered 410 scope_changed resyncs from no cursor and reports the scope change', async () => {
    const h = await harness()
    h.server.sockets = 'refuse'
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('http')
    h.server.refuseCursorWith = 'cursor_expired'
    await h.clock.advance(TIMINGS.pollIntervalMs)
    expect(h.scopeChanges).toBe(0)
    h.server.refuseCursorWith = 'scope_changed'
    await h.clock.advance(TIMINGS.pollIntervalMs)
    expect(h.scopeChanges).toBe(1)
    expect(h.loop.state).toBe('http')
    expect(h.errors).toEqual([])
  })

  it('unauthenticated (4401): asks the app for credentials and reconnects as soon as it has them', async () => {
    let refresh: () => void = () => {}
    const h = await harness({ onUnauthorized: () => new Promise<void>((r) => (refresh = r)) })
    h.loop.start()
    await h.clock.advance(0)
    h.server.closeAll(4401, 'the access token expired')
    await h.clock.advance(0)
    expect(h.loop.state).toBe('backoff')
    expect(h.unauthorized).toHaveLength(1)
    expect(h.status.get().lastError?.code).toBe('unauthenticated')
    refresh()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('socket')
    expect(h.states).toEqual(['connecting', 'socket', 'backoff', 'connecting', 'socket'])
  })

  it('reports a malformed or unknown frame as a ProtocolError and keeps the session', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    h.server.broadcast('{"type":"surprise"}')
    h.server.broadcast('not json')
    h.server.broadcast({ type: 'changes', changes: [{ model: 'note', record: { id: 'x' } }], cursor: 'c1', hasMore: false } as never)
    await settle()
    expect(h.errors.map((e) => (e as Error).name)).toEqual(['ProtocolError', 'ProtocolError', 'ProtocolError'])
    expect((h.errors[2] as Error).message).toContain('changes.changes[0].record.version')
    expect(h.loop.state).toBe('socket')
  })

  it('sync() from backoff tries at once and rejects when the server still cannot be reached', async () => {
    const h = await harness()
    h.server.network = 'down'
    h.loop.start()
    await h.clock.advance(0)
    expect(h.loop.state).toBe('backoff')
    await expect(h.loop.sync()).rejects.toMatchObject({ name: 'NetworkError' })
    h.server.network = 'up'
    await h.loop.sync()
    expect(h.loop.state).toBe('socket')
    expectLegal(h.states)
  })

  it('closes from any state: timers stop and the socket is closed', async () => {
    const h = await harness()
    h.loop.start()
    await h.clock.advance(0)
    const sockets = [...h.server.open]
    await h.loop.close()
    expect(h.loop.state).toBe('closed')
    expect(h.status.get()).toMatchObject({ online: false, transport: null, syncing: false })
    await h.clock.advance(120_000)
    expect(sockets.every((s) => s.readyState === 3)).toBe(true)
    expect(h.server.received.filter((m) => m.type === 'hello')).toHaveLength(1)
  })
})
