/**
 * Fixtures for client tests: a real server on a SQLite file that can be stopped and started
 * again on the same port and file, a switchable "network" (fetch and WebSocket that fail while
 * it is down), and clients wired to both.
 */
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Client, type ClientOptions, createClient, createMemoryStore, type FetchLike, type WebSocketConstructor } from '@pulse/client'
import type { ModelDefinition, Schema } from '@pulse/core'
import { createSqliteStorage, type RunningServer, startServer } from '@pulse/server'
import WebSocket from 'ws'

/** A fresh temporary directory. */
export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `pulse-client-${label}-`))
}

/** A TCP port nobody listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

/** A server that can be restarted on the same database file and port. */
export interface RestartableServer {
  readonly url: string
  readonly port: number
  readonly file: string
  /** The running server (throws while stopped). */
  readonly current: RunningServer
  stop(): Promise<void>
  start(): Promise<void>
}

/** Starts a server with accounts off (every caller is the system actor) on a SQLite file. */
export async function startRestartableServer(schema: Schema, label = 'server'): Promise<RestartableServer> {
  const file = join(tempDir(label), 'server.db')
  const port = await freePort()
  let running: RunningServer | undefined
  const start = async () => {
    running = await startServer({
      schema,
      database: await createSqliteStorage({ filename: file }),
      port,
      logger: false,
      auth: false,
      realtime: { gapWaitMs: 20 },
    })
  }
  await start()
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    file,
    get current() {
      if (!running) throw new Error('the server is stopped')
      return running
    },
    async stop() {
      const r = running
      running = undefined
      await r?.close()
    },
    start,
  }
}

/** A network between clients and the server that a test can cut and restore. */
export interface TestNetwork {
  readonly fetch: FetchLike
  readonly WebSocket: WebSocketConstructor
  readonly isUp: boolean
  /** Fails every request from now on and drops every open socket. */
  down(): void
  up(): void
}

/** A network that is up. Requests made while it is down fail the way an unreachable host does. */
export function createTestNetwork(): TestNetwork {
  let up = true
  const sockets = new Set<WebSocket>()
  class SwitchedSocket extends WebSocket {
    constructor(url: string) {
      // Down: a port nothing listens on, so the connection is refused like a dead network's.
      super(up ? url : 'ws://127.0.0.1:1/ws')
      sockets.add(this)
      this.on('error', () => {}) // reported through 'close'
      this.on('close', () => sockets.delete(this))
    }
  }
  return {
    fetch: async (url, init) => {
      if (!up) throw new TypeError('fetch failed (the test network is down)')
      return fetch(url, init as RequestInit)
    },
    WebSocket: SwitchedSocket as unknown as WebSocketConstructor,
    get isUp() {
      return up
    },
    down() {
      up = false
      for (const s of sockets) s.terminate()
    },
    up() {
      up = true
    },
  }
}

/** Fast timings for tests: quick reconnects, short polls. */
export const FAST_TIMINGS: ClientOptions['timings'] = {
  reconnect: { baseMs: 50, maxMs: 400 },
  pollIntervalMs: 300,
  connectTimeoutMs: 2000,
  retry: { baseMs: 50, maxMs: 200, maxAttempts: 3 },
}

/** A client of `url` with fast timings, a memory store unless given, and errors collected. */
export function testClient(
  url: string,
  models: readonly ModelDefinition[],
  extra: Partial<ClientOptions> = {},
): Client & { errors: unknown[] } {
  const errors: unknown[] = []
  const client = createClient({
    url,
    models,
    store: createMemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onError: (e) => errors.push(e),
    timings: FAST_TIMINGS,
    ...extra,
  })
  return Object.assign(client, { errors })
}

/** Waits until `check` returns true (polling), or fails after `timeoutMs` with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
