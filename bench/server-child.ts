/**
 * A server under test, in a process of its own (started through `spawnServer`, with the file
 * limit raised and `--expose-gc`): either a Pulse server or the bare `ws` loop that is its
 * baseline. It answers its parent over IPC with its memory, open descriptors and event-loop
 * delay, so the parent measures the server and not itself.
 *
 *   kind 'pulse': startServer on SQLite or PostgreSQL, optionally a Redis bus, accounts on with
 *                 admin API tokens for the clients' hellos.
 *   kind 'bare':  an HTTP server and a `ws` server: hello answered with one empty last
 *                 catch-up page, any other frame relayed to every socket, POST /broadcast
 *                 parsed and sent to every socket as one `changes` message, a ping loop at
 *                 the same interval as Pulse's heartbeat.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { defineSchema } from '@pulse/core'
import { createPostgresStorage, createRedisBus, createSqliteStorage, type RunningServer, startServer, systemContext } from '@pulse/server'
import { WebSocket, WebSocketServer } from 'ws'
import tasksConfig from '../examples/tasks/pulse.config.ts'
import { nodeUnderShell, nowMs, openFileLimit, openFiles, tempSqlite } from './support.ts'

/** How a server child is made. */
export interface ServerConfig {
  kind: 'pulse' | 'bare'
  /** Pulse: 'sqlite' (a fresh file), or a PostgreSQL URL (with `pgSchema`). */
  database?: string
  pgSchema?: string
  /** Pulse: a Redis URL for the bus, on `busChannel`. */
  bus?: string
  busChannel?: string
  /** Pulse: how many admin API tokens to mint for clients (0: accounts off). */
  apiTokens?: number
  heartbeatIntervalMs?: number
  /** Pulse: how often an open socket's credential is re-checked (default the server's, 10 s). */
  recheckIntervalMs?: number
}

/** What a server child tells its parent. */
export type ServerMessage =
  | { type: 'ready'; url: string; tokens: string[]; fileLimit: number }
  | { type: 'stats'; rss: number; heapUsed: number; external: number; fds: number; sockets: number; eld: Eld }
  | { type: 'seeded'; ms: number }
  | { type: 'error'; message: string }

/** Event-loop delay since the last reset, in ms. */
export interface Eld {
  p50: number
  p99: number
  max: number
  mean: number
}

type Request = { type: 'stats' } | { type: 'reset-eld' } | { type: 'seed'; count: number; batch: number } | { type: 'close' }

/** A running server child, seen from its parent. */
export interface ServerChild {
  url: string
  tokens: string[]
  fileLimit: number
  process: ChildProcess
  stats(): Promise<Extract<ServerMessage, { type: 'stats' }>>
  resetEld(): void
  /** Writes `count` item records in commits of `batch` (each commit a change per record). */
  seed(count: number, batch: number): Promise<number>
  close(): Promise<void>
}

function ask<T extends ServerMessage['type']>(
  child: ChildProcess,
  request: Request,
  answer: T,
): Promise<Extract<ServerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ServerMessage) => {
      if (m.type === answer) {
        child.off('message', onMessage)
        resolve(m as Extract<ServerMessage, { type: T }>)
      } else if (m.type === 'error') {
        child.off('message', onMessage)
        reject(new Error(m.message))
      }
    }
    child.on('message', onMessage)
    child.send(request)
  })
}

/** Starts a server child and waits until it listens. */
export async function spawnServer(config: ServerConfig): Promise<ServerChild> {
  const execArgv = [...process.execArgv, '--expose-gc']
  const [cmd, args] = nodeUnderShell(fileURLToPath(import.meta.url), ['--serve', JSON.stringify(config)], execArgv)
  const child = spawn(cmd, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
  const ready = await new Promise<Extract<ServerMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server child exited (${code}) before it was ready`)))
    child.on('message', (m: ServerMessage) => {
      if (m.type === 'ready') resolve(m)
      if (m.type === 'error') reject(new Error(m.message))
    })
  })
  child.removeAllListeners('exit')
  return {
    url: ready.url,
    tokens: ready.tokens,
    fileLimit: ready.fileLimit,
    process: child,
    stats: () => ask(child, { type: 'stats' }, 'stats'),
    resetEld: () => child.send({ type: 'reset-eld' }),
    seed: async (count, batch) => (await ask(child, { type: 'seed', count, batch }, 'seeded')).ms,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.send({ type: 'close' })
      }),
  }
}

/** The bare `ws` loop: what a WebSocket server costs with nothing of Pulse in it. */
async function bareServer(config: ServerConfig): Promise<{ url: string; sockets: () => number; close: () => Promise<void> }> {
  const http = createServer((req: IncomingMessage, res) => {
    if (req.method === 'GET' && req.url === '/api/v1/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    if (req.method !== 'POST' || req.url !== '/broadcast') {
      res.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const record = { ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as object), id: randomUUID(), version: 1 }
      const frame = Buffer.from(JSON.stringify({ type: 'changes', changes: [{ model: 'item', record }], cursor: 'c', hasMore: false }))
      for (const s of wss.clients) if (s.readyState === WebSocket.OPEN) s.send(frame, { binary: false })
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(record))
    })
  })
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false, maxPayload: 1024 * 1024 })
  const alive = new WeakMap<WebSocket, boolean>()
  wss.on('connection', (socket) => {
    alive.set(socket, true)
    socket.on('pong', () => alive.set(socket, true))
    socket.on('message', (data) => {
      const text = data.toString()
      if (text.includes('"type":"hello"')) {
        socket.send(JSON.stringify({ type: 'welcome', userId: null, serverTime: new Date().toISOString() }))
        socket.send(JSON.stringify({ type: 'changes', changes: [], cursor: 'c', hasMore: false }))
        return
      }
      // A relayed frame: parsed and encoded once, as a server relaying a change would.
      const frame = Buffer.from(JSON.stringify(JSON.parse(text)))
      for (const s of wss.clients) if (s.readyState === WebSocket.OPEN) s.send(frame, { binary: false })
    })
    socket.on('error', () => {})
  })
  const ping = setInterval(() => {
    for (const s of wss.clients) {
      if (alive.get(s) === false) {
        s.terminate()
        continue
      }
      alive.set(s, false)
      s.ping()
    }
  }, config.heartbeatIntervalMs ?? 30_000)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    sockets: () => wss.clients.size,
    close: async () => {
      clearInterval(ping)
      for (const s of wss.clients) s.terminate()
      await new Promise<void>((resolve) => wss.close(() => http.close(() => resolve())))
    },
  }
}

async function serve(config: ServerConfig): Promise<void> {
  const eld = monitorEventLoopDelay({ resolution: 5 })
  eld.enable()
  const gc = (globalThis as { gc?: () => void }).gc
  let close: () => Promise<void>
  let sockets: () => number
  let url: string
  const tokens: string[] = []
  let server: RunningServer | undefined
  if (config.kind === 'bare') {
    const bare = await bareServer(config)
    ;({ url, close, sockets } = bare)
  } else {
    const schema = defineSchema(tasksConfig.models)
    const storage =
      config.database && config.database !== 'sqlite'
        ? await createPostgresStorage({ connectionString: config.database, ...(config.pgSchema ? { schema: config.pgSchema } : {}) })
        : await createSqliteStorage({ filename: tempSqlite('server') })
    const auth = (config.apiTokens ?? 0) > 0
    const running = await startServer({
      schema,
      database: storage,
      port: 0,
      logger: { level: 'warn' },
      ...(config.bus ? { bus: await createRedisBus(config.bus, { ...(config.busChannel ? { channel: config.busChannel } : {}) }) } : {}),
      auth: auth
        ? { secret: 'bench secret of at least thirty-two chars', tokenRatePerSecond: 1_000_000, apiTokenRatePerSecond: 1_000_000 }
        : false,
      maxConnectionsPerAddress: 0,
      docs: false,
      demoPages: false,
      realtime: {
        ...(config.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: config.heartbeatIntervalMs } : {}),
        ...(config.recheckIntervalMs !== undefined ? { recheckIntervalMs: config.recheckIntervalMs } : {}),
      },
    })
    server = running
    const accounts = running.accounts
    if (accounts)
      for (let i = 0; i < (config.apiTokens ?? 0); i++)
        tokens.push((await accounts.createApiToken({ name: `bench ${i}`, admin: true })).token)
    url = running.url
    let open = 0
    running.app.server.on('upgrade', (_req, socket) => {
      open += 1
      socket.once('close', () => {
        open -= 1
      })
    })
    sockets = () => open
    close = () => running.close()
  }
  process.on('message', async (m: Request) => {
    try {
      if (m.type === 'stats') {
        gc?.()
        gc?.()
        const mem = process.memoryUsage()
        process.send?.({
          type: 'stats',
          rss: mem.rss,
          heapUsed: mem.heapUsed,
          external: mem.external,
          fds: openFiles(),
          sockets: sockets(),
          eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6, mean: eld.mean / 1e6 },
        } satisfies ServerMessage)
      } else if (m.type === 'reset-eld') eld.reset()
      else if (m.type === 'seed') {
        if (!server) throw new Error('the bare server has no database')
        const t0 = nowMs()
        for (let i = 0; i < m.count; i += m.batch) {
          const ops = Array.from({ length: Math.min(m.batch, m.count - i) }, (_, k) => ({
            op: 'create' as const,
            model: 'item',
            data: { name: `seed ${i + k}`, price: `${(i + k) % 1000}.99` },
          }))
          await server.engine.write(systemContext(), ops, { atomic: true })
        }
        process.send?.({ type: 'seeded', ms: nowMs() - t0 } satisfies ServerMessage)
      } else if (m.type === 'close') {
        await close()
        process.exit(0)
      }
    } catch (e) {
      process.send?.({ type: 'error', message: String(e) } satisfies ServerMessage)
    }
  })
  process.on('disconnect', () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  process.send?.({ type: 'ready', url, tokens, fileLimit: openFileLimit() } satisfies ServerMessage)
}

if (process.argv[2] === '--serve') {
  try {
    await serve(JSON.parse(process.argv[3] as string) as ServerConfig)
  } catch (e) {
    process.send?.({ type: 'error', message: String(e) } satisfies ServerMessage)
    process.exit(1)
  }
}
