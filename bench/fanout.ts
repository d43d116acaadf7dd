/**
 * Live fan-out (PROTOCOL.md §6): one server on SQLite in a child process, 1,000 WebSocket
 * clients connected and caught up in this one. Then:
 *  - fan-out: K single-record REST writes, spaced, each timed from the write call until the
 *    last of the 1,000 clients has parsed the change;
 *  - end to end: a push over one client's socket, timed until another client has the change;
 *  - baseline, in the same run: a bare `ws` server in the same child broadcasting a frame of the
 *    same size to 1,000 bare sockets when one of them sends it a frame (no Pulse at all), timed
 *    until the last has it: the floor the fan-out figures are read against.
 * Loopback only; bounded in count and time.
 *
 *   node --import tsx bench/fanout.ts [clients=1000] [writes=100]
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { defineSchema, uuidv7 } from '@pulse/core'
import { startServer } from '@pulse/server'
import WebSocket, { WebSocketServer } from 'ws'
import config from '../examples/tasks/pulse.config.ts'
import { nowMs, percentile, printTable, report, sized, tempSqlite } from './support.ts'

const CLIENTS = Number(process.argv[2] ?? 1000)
const WRITES = Number(process.argv[3] ?? 100)
const GAP_MS = 20
const STEP_TIMEOUT_MS = 10_000
const TARGET_P99_MS = 30
/** Writes made and delivered before each measured series, not counted: the JIT warms up. */
const WARM = sized(100, 50)

/**
 * Child mode: run the server and report its URL. It also times its own fan-out: from the
 * commit (an engine listener registered after the bus publisher) to the end of the hub's
 * dispatch (a bus subscriber registered after the hub's, so it runs right after it).
 */
async function serve(): Promise<void> {
  // Accounts off: every client is the system actor and sees every change (one view, one encoding).
  const server = await startServer({
    schema: defineSchema(config.models),
    database: tempSqlite('fanout'),
    port: 0,
    logger: false,
    auth: false,
    // Every client connects from 127.0.0.1: lift the per-address connection cap (default 256).
    maxConnectionsPerAddress: 0,
  })
  const dispatch: number[] = []
  let committedAt = 0
  server.engine.onCommit(() => {
    committedAt = nowMs()
  })
  server.bus.subscribe(() => {
    dispatch.push(nowMs() - committedAt)
  })
  process.on('message', (m) => {
    if (m === 'report') process.send?.({ dispatch })
  })
  // The baseline: a bare ws broadcast loop, what the socket layer alone costs.
  const bare = new WebSocketServer({ port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => bare.once('listening', () => resolve()))
  bare.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = Buffer.from(data as Buffer)
      for (const c of bare.clients) c.send(frame, { binary: false })
    })
  })
  const port = (bare.address() as { port: number }).port
  process.send?.({ url: server.url, bareUrl: `ws://127.0.0.1:${port}` })
  process.on('disconnect', () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}

interface Client {
  ws: WebSocket
  onChange?: (name: string, at: number) => void
}

async function connectClient(url: string, i: number): Promise<Client> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`)
  const client: Client = { ws }
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client ${i}: no catch-up in time`)), STEP_TIMEOUT_MS)
    ws.on('message', (data) => {
      const at = nowMs()
      const m = JSON.parse(data.toString()) as { type: string; hasMore?: boolean; changes?: { record: { name?: string } }[] }
      if (m.type === 'changes' && m.hasMore === false && timer) {
        clearTimeout(timer)
        resolve(client)
      }
      if (m.type === 'changes' && client.onChange) for (const c of m.changes ?? []) if (c.record.name) client.onChange(c.record.name, at)
      if (m.type === 'poke') console.warn(`client ${i} was poked`)
    })
    ws.send(JSON.stringify({ type: 'hello', clientId: `bench-${i}`, cursor: null }))
  })
}

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out`)), STEP_TIMEOUT_MS)
    }),
  ]).finally(() => clearTimeout(timer))
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: process.execArgv, stdio: 'inherit' })
  const { url, bareUrl } = await withTimeout(
    new Promise<{ url: string; bareUrl: string }>((resolve) =>
      child.once('message', (m) => resolve(m as { url: string; bareUrl: string })),
    ),
    'server start',
  )
  try {
    const started = nowMs()
    const clients: Client[] = []
    for (let i = 0; i < CLIENTS; i += 100) {
      const batch = Array.from({ length: Math.min(100, CLIENTS - i) }, (_, j) => connectClient(url, i + j))
      clients.push(...(await withTimeout(Promise.all(batch), 'connecting')))
    }
    console.log(`${clients.length} clients connected and caught up in ${Math.round(nowMs() - started)} ms`)

    // Fan-out: from the write call until the last client has the change.
    const fanOut: number[] = []
    const spread: number[] = []
    const writeCall: number[] = []
    console.log(`  warm-up (not measured): the first ${WARM} writes of each series`)
    for (let k = -WARM; k < WRITES; k++) {
      const name = `fanout-${k}`
      let remaining = clients.length
      let last = 0
      let first = Number.POSITIVE_INFINITY
      const all = new Promise<void>((resolve) => {
        for (const c of clients) {
          c.onChange = (n, at) => {
            if (n !== name) return
            last = Math.max(last, at)
            first = Math.min(first, at)
            remaining -= 1
            if (remaining === 0) resolve()
          }
        }
      })
      const t0 = nowMs()
      const res = await fetch(`${url}/api/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, price: '1.00' }),
      })
      if (k >= 0) writeCall.push(nowMs() - t0)
      if (res.status !== 201) throw new Error(`write ${k}: ${res.status} ${await res.text()}`)
      await withTimeout(all, `write ${k} reaching every client`)
      if (k >= 0) fanOut.push(last - t0)
      if (k >= 0) spread.push(last - first)
      await new Promise((r) => setTimeout(r, GAP_MS))
    }
    for (const c of clients) c.onChange = undefined

    // End to end: a push on one socket, visible on another.
    const [writer, reader] = [clients[0] as Client, clients[clients.length - 1] as Client]
    const endToEnd: number[] = []
    for (let k = -WARM; k < WRITES; k++) {
      const name = `e2e-${k}`
      const seen = new Promise<number>((resolve) => {
        reader.onChange = (n, at) => {
          if (n === name) resolve(at)
        }
      })
      const t0 = nowMs()
      const mutation = {
        mid: WARM + k + 1,
        model: 'item',
        op: 'create',
        id: uuidv7(),
        vclock: { 'bench-0': WARM + k + 1 },
        data: { name, price: '2.00' },
        at: new Date().toISOString(),
      }
      writer.ws.send(JSON.stringify({ type: 'push', mutations: [mutation] }))
      const e2e = (await withTimeout(seen, `push ${k}`)) - t0
      if (k >= 0) endToEnd.push(e2e)
      await new Promise((r) => setTimeout(r, GAP_MS))
    }

    // What a Pulse live message of one item weighs, for the baseline's frame.
    const sample = JSON.stringify({
      type: 'changes',
      changes: [{ model: 'item', record: { id: uuidv7(), version: 1, vclock: { s: 1 }, name: 'fanout-0', price: '1.00' } }],
      cursor: 'x'.repeat(12),
      hasMore: false,
    })
    for (const c of clients) c.ws.terminate()
    const bare = await bareBaseline(bareUrl, clients.length, sample)

    const row = (what: string, values: number[]) => ({
      what,
      n: values.length,
      'p50 ms': percentile(values, 50).toFixed(1),
      'p99 ms': percentile(values, 99).toFixed(1),
      'max ms': Math.max(...values).toFixed(1),
    })
    const serverReport = new Promise<number[]>((resolve) => child.once('message', (m) => resolve((m as { dispatch: number[] }).dispatch)))
    child.send('report')
    const dispatch = (await withTimeout(serverReport, 'server report')).slice(WARM, WARM + WRITES)
    printTable(`Live fan-out to ${clients.length} WebSocket clients (server on SQLite, loopback)`, [
      row('REST write call (POST, commit, fan-out)', writeCall),
      row(`server: commit → dispatched to ${clients.length} sockets`, dispatch),
      row(`clients: first has it → last has it`, spread),
      row(`write call → last of ${clients.length} clients has it`, fanOut),
      row('push on one socket → visible on another', endToEnd),
      row(`baseline: bare ws, a frame in → broadcast → last of ${clients.length} has it`, bare),
    ])
    const ratio = percentile(fanOut, 99) / percentile(bare, 99)
    console.log(`fan-out p99 is ${ratio.toFixed(2)}× the bare ws broadcast's p99 in this run`)
    const p99 = percentile(fanOut, 99)
    console.log(`fan-out p99 ${p99.toFixed(1)} ms against a target of ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}`)
    report({
      path: `fan-out: 1 change → ${clients.length} sockets, last delivery p99`,
      figure: p99,
      unit: 'ms',
      better: 'lower',
      aim: TARGET_P99_MS,
      baselineName: 'ws-broadcast-p99',
    })
    report({
      path: 'end to end: write → visible on another client, p50',
      figure: percentile(endToEnd, 50),
      unit: 'ms',
      better: 'lower',
      aim: 3,
      baselineName: 'ws-relay-p50',
    })
    report({
      path: 'end to end: write → visible on another client, p99',
      figure: percentile(endToEnd, 99),
      unit: 'ms',
      better: 'lower',
      aim: 15,
      baselineName: 'ws-relay-p99',
    })
  } finally {
    child.disconnect()
  }
}

/** The bare broadcast: 1,000 plain sockets; one sends a frame, the server relays it to all. */
async function bareBaseline(url: string, count: number, frame: string): Promise<number[]> {
  const sockets: WebSocket[] = []
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from(
      { length: Math.min(100, count - i) },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
        }),
    )
    sockets.push(...(await withTimeout(Promise.all(batch), 'bare sockets connecting')))
  }
  const times: number[] = []
  for (let k = 0; k < WRITES; k++) {
    let remaining = sockets.length
    let last = 0
    const all = new Promise<void>((resolve) => {
      for (const ws of sockets) {
        ws.removeAllListeners('message')
        ws.on('message', (data) => {
          JSON.parse(data.toString())
          last = nowMs()
          remaining -= 1
          if (remaining === 0) resolve()
        })
      }
    })
    const t0 = nowMs()
    sockets[0]?.send(frame)
    await withTimeout(all, `bare broadcast ${k}`)
    times.push(last - t0)
    await new Promise((r) => setTimeout(r, GAP_MS))
  }
  for (const ws of sockets) ws.terminate()
  return times
}

if (process.argv.includes('--serve')) await serve()
else await main()
