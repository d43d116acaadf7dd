/**
 * A fleet of WebSocket clients in a process of its own (started through `spawnFleet`, with the
 * file limit raised), so thousands of sockets can be held without the clients' work landing on
 * the server's process or the parent's timers. Each client speaks the protocol as the SDK does
 * (hello with a token and a cursor, reads catch-up pages to the last, parses every frame, pulls
 * when poked) and the fleet reports to its parent over IPC.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { epochMs, nodeUnderShell, openFileLimit } from './support.ts'

/** How a fleet is made. */
export interface FleetConfig {
  url: string
  /** Clients in this fleet. */
  count: number
  /** Tokens for the hellos, used in turn (empty: no token). */
  tokens: string[]
  /** Client ids are `<prefix>-<i>`. */
  prefix: string
  /** Hello cursors, one per client (absent: null, everything). */
  cursors?: (string | null)[]
  /** Changes each client must receive in its catch-up to count as caught up (absent: any). */
  expected?: number[]
  /** Sockets opened at once while connecting (default 200); Infinity: all at once. */
  wave?: number
}

/** A fleet's answer to `connect`. */
export interface Connected {
  type: 'connected'
  /** Clients whose catch-up ended (and held every expected change). */
  caughtUp: number
  failed: number
  /** Reconnection attempts after a refused or cut connection. */
  retries: number
  /** Catch-up changes received, all clients. */
  changes: number
  /** Epoch ms of the first socket opened and of the last catch-up finished. */
  firstAt: number
  lastAt: number
  errors: string[]
}

/** Live deliveries seen since `watch`: per record name, each client's arrival (epoch ms). */
export interface Arrivals {
  type: 'arrivals'
  arrivals: Record<string, number[]>
  pokes: number
}

type Request = { type: 'connect' } | { type: 'watch' } | { type: 'arrivals' } | { type: 'close' }

/** A running fleet, seen from its parent. */
export interface Fleet {
  process: ChildProcess
  connect(): Promise<Connected>
  watch(): void
  arrivals(): Promise<Arrivals>
  close(): Promise<void>
}

function ask<T>(child: ChildProcess, request: Request, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }) => {
      if (m.type === answer) {
        child.off('message', onMessage)
        resolve(m as T)
      } else if (m.type === 'error') {
        child.off('message', onMessage)
        reject(new Error(m.message))
      }
    }
    child.on('message', onMessage)
    child.send(request)
  })
}

/** Starts a fleet process; its clients connect when told to. */
export async function spawnFleet(config: FleetConfig): Promise<Fleet> {
  const [cmd, args] = nodeUnderShell(fileURLToPath(import.meta.url), ['--fleet', JSON.stringify(config)])
  const child = spawn(cmd, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fleet exited (${code}) before it was ready`)))
    child.once('message', () => resolve())
  })
  child.removeAllListeners('exit')
  return {
    process: child,
    connect: () => ask<Connected>(child, { type: 'connect' }, 'connected'),
    watch: () => child.send({ type: 'watch' }),
    arrivals: () => ask<Arrivals>(child, { type: 'arrivals' }, 'arrivals'),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.send({ type: 'close' })
      }),
  }
}

/** Splits `total` clients over fleets of at most `perFleet` and starts them. */
export async function spawnFleets(
  total: number,
  perFleet: number,
  make: (from: number, count: number, index: number) => FleetConfig,
): Promise<Fleet[]> {
  const configs: FleetConfig[] = []
  for (let from = 0, i = 0; from < total; from += perFleet, i++) configs.push(make(from, Math.min(perFleet, total - from), i))
  return Promise.all(configs.map(spawnFleet))
}

/** Sums the fleets' answers to `connect`. */
export function sumConnected(all: Connected[]): Connected {
  return {
    type: 'connected',
    caughtUp: all.reduce((s, c) => s + c.caughtUp, 0),
    failed: all.reduce((s, c) => s + c.failed, 0),
    retries: all.reduce((s, c) => s + c.retries, 0),
    changes: all.reduce((s, c) => s + c.changes, 0),
    firstAt: Math.min(...all.map((c) => c.firstAt)),
    lastAt: Math.max(...all.map((c) => c.lastAt)),
    errors: all.flatMap((c) => c.errors).slice(0, 5),
  }
}

const MAX_ATTEMPTS = 8
const CATCH_UP_TIMEOUT_MS = 120_000

interface Member {
  ws?: WebSocket
  cursor: string | null
  received: number
}

function runFleet(config: FleetConfig): void {
  const wsUrl = `${config.url.replace(/^http/, 'ws')}/ws`
  const members: Member[] = Array.from({ length: config.count }, (_, i) => ({ cursor: config.cursors?.[i] ?? null, received: 0 }))
  let watching = false
  let pokes = 0
  const arrivals: Record<string, number[]> = {}
  const errors: string[] = []
  let retries = 0

  /** Opens client i and resolves once its catch-up has ended; retries a refused or cut connection. */
  function connectOne(i: number, attempt = 1): Promise<boolean> {
    const m = members[i] as Member
    return new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false })
      m.ws = ws
      let done = false
      const finish = (ok: boolean) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resolve(ok)
      }
      const retry = (why: string) => {
        if (done) return
        done = true
        clearTimeout(timer)
        ws.removeAllListeners()
        ws.on('error', () => {})
        ws.terminate()
        if (attempt >= MAX_ATTEMPTS) {
          if (errors.length < 5) errors.push(`client ${i}: ${why}`)
          resolve(false)
          return
        }
        retries += 1
        // Backoff with jitter, as the SDK reconnects.
        setTimeout(() => connectOne(i, attempt + 1).then(resolve), Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random()))
      }
      const timer = setTimeout(() => retry('no catch-up in time'), CATCH_UP_TIMEOUT_MS)
      ws.on('open', () => {
        ws.send(
          JSON.stringify({
            type: 'hello',
            token: config.tokens[i % Math.max(1, config.tokens.length)],
            clientId: `${config.prefix}-${i}`,
            cursor: m.cursor,
          }),
        )
      })
      ws.on('message', (data) => {
        const at = epochMs()
        const msg = JSON.parse(data.toString()) as {
          type: string
          changes?: { record: { name?: string } }[]
          cursor?: string
          hasMore?: boolean
          code?: string
          message?: string
        }
        if (msg.type === 'changes') {
          if (msg.cursor) m.cursor = msg.cursor
          if (!done) {
            m.received += msg.changes?.length ?? 0
            if (msg.hasMore === false) finish(config.expected === undefined || m.received >= (config.expected[i] ?? 0))
          } else if (watching)
            for (const c of msg.changes ?? []) {
              const name = c.record.name
              if (!name) continue
              const seen = arrivals[name]
              if (seen) seen.push(at)
              else arrivals[name] = [at]
            }
        } else if (msg.type === 'poke') {
          pokes += 1
          ws.send(JSON.stringify({ type: 'pull', cursor: m.cursor }))
        } else if (msg.type === 'error' && !done) retry(`error ${msg.code}: ${msg.message}`)
      })
      ws.on('error', (e) => retry(String(e)))
      ws.on('close', (code, reason) => retry(`closed ${code} ${reason.toString()}`))
    })
  }

  process.on('message', async (req: Request) => {
    if (req.type === 'connect') {
      const firstAt = epochMs()
      const wave = config.wave ?? 200
      let caughtUp = 0
      let failed = 0
      for (let i = 0; i < config.count; i += Number.isFinite(wave) ? wave : config.count) {
        const n = Number.isFinite(wave) ? Math.min(wave, config.count - i) : config.count
        const results = await Promise.all(Array.from({ length: n }, (_, k) => connectOne(i + k)))
        for (const ok of results) {
          if (ok) caughtUp += 1
          else failed += 1
        }
      }
      const answer: Connected = {
        type: 'connected',
        caughtUp,
        failed,
        retries,
        changes: members.reduce((s, m) => s + m.received, 0),
        firstAt,
        lastAt: epochMs(),
        errors,
      }
      process.send?.(answer)
    } else if (req.type === 'watch') {
      watching = true
      for (const k of Object.keys(arrivals)) delete arrivals[k]
    } else if (req.type === 'arrivals') {
      const answer: Arrivals = { type: 'arrivals', arrivals, pokes }
      process.send?.(answer)
    } else if (req.type === 'close') {
      for (const m of members) {
        m.ws?.removeAllListeners()
        m.ws?.on('error', () => {})
        m.ws?.terminate()
      }
      process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.({ type: 'ready', fileLimit: openFileLimit() })
}

if (process.argv[2] === '--fleet') runFleet(JSON.parse(process.argv[3] as string) as FleetConfig)
