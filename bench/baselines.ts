/**
 * The raw baselines each Pulse figure is compared with, measured in the same run on the same
 * machine (bench/run.ts runs this first, in its own process). Each is what the machine does
 * with no Pulse in the way:
 *
 *   fastify-json-route   a bare Fastify route parsing the same task JSON, with the same load
 *                        generator as the REST figure (16 keep-alive connections)          req/s
 *   sqlite-insert        raw better-sqlite3 multi-row INSERTs of 100 task rows (a push batch) rows/s
 *   pg-insert            the same with pg                                                    rows/s
 *   sqlite-indexed-read  raw pages of 5,000 from an indexed single-column read              rows/s
 *   pg-indexed-read      the same with pg                                                    rows/s
 *   ws-broadcast         bare ws loop: POST → parse → one frame to 1,000 sockets; until the last
 *                        client has parsed it (p50, p99)                                     ms
 *   ws-relay             bare ws loop: a frame from one of 1,000 clients relayed to all; until the
 *                        last client has it (p50, p99)                                       ms
 *   ws-relay-2           the same with 2 clients (p50, p99)                                 ms
 *
 *   node --import tsx bench/baselines.ts [name…]   (all when none is named)
 */
import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import pg from 'pg'
import WebSocket from 'ws'
import { spawnServer } from './server-child.ts'
import {
  benchPgUrl,
  nowMs,
  percentile,
  postLoad,
  rawTaskRow,
  reportBaseline,
  sized,
  taskData,
  tempSqlite,
  warmUp,
  withPgSchema,
} from './support.ts'

const REST_N = sized(5_000, 2_000)
const INSERT_N = sized(20_000, 4_000)
const READ_N = sized(100_000, 20_000)
const WS_CLIENTS = 1000
const WS_ROUNDS = sized(100, 40)
const GAP_MS = 20

const TASK_COLUMNS = 17
const placeholders = (rows: number, dollar: boolean) =>
  Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: TASK_COLUMNS }, (_, k) => (dollar ? `$${r * TASK_COLUMNS + k + 1}` : '?')).join(',')})`,
  ).join(',')
/** An item record's JSON as a page carries it. */
const itemJson = (i: number) =>
  JSON.stringify({
    id: randomUUID(),
    version: 1,
    name: `Item ${i}`,
    price: `${i % 1000}.99`,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    deletedAt: null,
  })

async function fastifyJsonRoute(): Promise<void> {
  const app = Fastify({ logger: false })
  app.post('/api/tasks', async (request, reply) => {
    const body = request.body as Record<string, unknown>
    return reply.code(201).send({ id: randomUUID(), version: 1, ...body })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/tasks`
  const bodies = Array.from({ length: REST_N }, (_, i) => JSON.stringify(taskData(i)))
  const headers = { 'x-auth-token': 'not checked' }
  await warmUp('bare Fastify route', () => postLoad(url, headers, bodies.slice(0, 1000), 16))
  const ms = await postLoad(url, headers, bodies, 16)
  reportBaseline('fastify-json-route', (REST_N / ms) * 1000, 'req/s', `${REST_N} POSTs, 16 in flight`)
  await app.close()
}

async function sqliteInsert(): Promise<void> {
  const db = new Database(tempSqlite('raw-insert'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER, vclock TEXT, createdAt TEXT, updatedAt TEXT, deletedAt TEXT, _fv TEXT,
    title TEXT, description TEXT, status TEXT, priority INTEGER, tags TEXT, dueDate TEXT, completed INTEGER, assigneeId TEXT, projectId TEXT, orgId TEXT)`)
  const insert = db.prepare(`INSERT INTO t VALUES ${placeholders(100, false)}`)
  const run = (from: number, n: number) => {
    for (let i = from; i < from + n; i += 100)
      insert.run(Array.from({ length: 100 }, (_, k) => rawTaskRow(taskData(i + k), new Date().toISOString(), 0)).flat())
  }
  let warmFrom = 1e9
  await warmUp('raw SQLite multi-row insert', () => {
    run(warmFrom, 1000)
    warmFrom += 1000
  })
  const t0 = nowMs()
  run(0, INSERT_N)
  reportBaseline('sqlite-insert', (INSERT_N / (nowMs() - t0)) * 1000, 'rows/s', `multi-row INSERT of 100 task rows, ${INSERT_N} rows`)
  db.close()
}

async function pgInsert(url: string): Promise<void> {
  await withPgSchema(url, async (s) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`CREATE SCHEMA "${s}"`)
    await client.query(`CREATE TABLE "${s}".t (id uuid PRIMARY KEY, version bigint, vclock jsonb, "createdAt" timestamptz, "updatedAt" timestamptz, "deletedAt" timestamptz, _fv jsonb,
      title text, description text, status text, priority bigint, tags jsonb, "dueDate" date, completed boolean, "assigneeId" text, "projectId" uuid, "orgId" text)`)
    const sql = `INSERT INTO "${s}".t VALUES ${placeholders(100, true)}`
    const run = async (from: number, n: number) => {
      for (let i = from; i < from + n; i += 100)
        await client.query(sql, Array.from({ length: 100 }, (_, k) => rawTaskRow(taskData(i + k), new Date().toISOString(), false)).flat())
    }
    let warmFrom = 1e9
    await warmUp('raw PostgreSQL multi-row insert', async () => {
      await run(warmFrom, 1000)
      warmFrom += 1000
    })
    const t0 = nowMs()
    await run(0, INSERT_N)
    reportBaseline('pg-insert', (INSERT_N / (nowMs() - t0)) * 1000, 'rows/s', `multi-row INSERT of 100 task rows, ${INSERT_N} rows`)
    await client.end()
  })
}

async function sqliteIndexedRead(): Promise<void> {
  const db = new Database(tempSqlite('raw-read'))
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE t (seq INTEGER NOT NULL, data TEXT NOT NULL); CREATE INDEX t_seq ON t (seq)')
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)')
  db.transaction(() => {
    for (let i = 1; i <= READ_N; i++) insert.run(i, itemJson(i))
  })()
  const page = db.prepare('SELECT seq, data FROM t WHERE seq > ? ORDER BY seq LIMIT 5000')
  const readAll = () => {
    let after = 0
    let n = 0
    for (;;) {
      const rows = page.all(after) as { seq: number; data: string }[]
      if (rows.length === 0) return n
      n += rows.length
      after = (rows[rows.length - 1] as { seq: number }).seq
    }
  }
  await warmUp('raw SQLite indexed read', readAll)
  const t0 = nowMs()
  const n = readAll()
  reportBaseline('sqlite-indexed-read', (n / (nowMs() - t0)) * 1000, 'rows/s', `${n} rows in pages of 5,000 by an indexed column`)
  db.close()
}

async function pgIndexedRead(url: string): Promise<void> {
  await withPgSchema(url, async (s) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`CREATE SCHEMA "${s}"`)
    await client.query(`CREATE TABLE "${s}".t (seq bigint NOT NULL, data text NOT NULL); CREATE INDEX ON "${s}".t (seq)`)
    for (let i = 1; i <= READ_N; i += 1000) {
      const values: unknown[] = []
      for (let k = i; k < Math.min(READ_N + 1, i + 1000); k++) values.push(k, itemJson(k))
      const rows = values.length / 2
      await client.query(
        `INSERT INTO "${s}".t VALUES ${Array.from({ length: rows }, (_, r) => `($${2 * r + 1}, $${2 * r + 2})`).join(',')}`,
        values,
      )
    }
    await client.query(`ANALYZE "${s}".t`)
    const readAll = async () => {
      let after = 0
      let n = 0
      for (;;) {
        const { rows } = await client.query(`SELECT seq, data FROM "${s}".t WHERE seq > $1 ORDER BY seq LIMIT 5000`, [after])
        if (rows.length === 0) return n
        n += rows.length
        after = Number((rows[rows.length - 1] as { seq: string }).seq)
      }
    }
    await warmUp('raw PostgreSQL indexed read', readAll)
    const t0 = nowMs()
    const n = await readAll()
    reportBaseline('pg-indexed-read', (n / (nowMs() - t0)) * 1000, 'rows/s', `${n} rows in pages of 5,000 by an indexed column`)
    await client.end()
  })
}

/** Bare ws loop latencies with `clients` sockets: the broadcast (from a POST) and the relay (from a client). */
async function wsLoop(clients: number, which: 'broadcast' | 'relay', name: string): Promise<void> {
  const server = await spawnServer({ kind: 'bare' })
  const sockets: WebSocket[] = []
  let expect = ''
  let remaining = 0
  let last = 0
  let done: (() => void) | undefined
  try {
    for (let i = 0; i < clients; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, clients - i) },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`, { perMessageDeflate: false })
            ws.once('open', () => resolve(ws))
            ws.once('error', reject)
            ws.on('message', (data) => {
              const at = nowMs()
              // Every client parses every frame, as the Pulse clients of the figure do.
              const m = JSON.parse(data.toString()) as { changes?: { record: { name?: string } }[] }
              if (m.changes?.[0]?.record.name === expect) {
                last = Math.max(last, at)
                remaining -= 1
                if (remaining === 0) done?.()
              }
            })
          }),
      )
      sockets.push(...(await Promise.all(batch)))
    }
    const once = async (k: string): Promise<number> => {
      expect = k
      remaining = sockets.length
      last = 0
      const all = new Promise<void>((resolve) => {
        done = resolve
      })
      const t0 = nowMs()
      if (which === 'broadcast') {
        const res = await fetch(`${server.url}/broadcast`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: k, price: '1.00' }),
        })
        if (res.status !== 201) throw new Error(`broadcast answered ${res.status}`)
        await res.arrayBuffer()
      } else {
        const change = { model: 'item', record: { id: randomUUID(), version: 1, name: k, price: '2.00' } }
        ;(sockets[0] as WebSocket).send(JSON.stringify({ type: 'changes', changes: [change], cursor: 'c', hasMore: false }))
      }
      await all
      const ms = last - t0
      await new Promise((r) => setTimeout(r, GAP_MS))
      return ms
    }
    let w = 0
    await warmUp(`bare ws ${which} to ${clients} sockets`, () => once(`warm-${w++}`))
    const samples: number[] = []
    for (let k = 0; k < WS_ROUNDS; k++) samples.push(await once(`k-${k}`))
    const what = which === 'broadcast' ? `POST → last of ${clients} sockets` : `one socket → last of ${clients} sockets`
    reportBaseline(`${name}-p50`, percentile(samples, 50), 'ms', `${what}, ${WS_ROUNDS} rounds`)
    reportBaseline(`${name}-p99`, percentile(samples, 99), 'ms', `${what}, ${WS_ROUNDS} rounds`)
  } finally {
    for (const s of sockets) s.terminate()
    await server.close()
  }
}

const ALL: Record<string, (pgUrl: string | undefined) => Promise<void>> = {
  'fastify-json-route': fastifyJsonRoute,
  'sqlite-insert': sqliteInsert,
  'pg-insert': async (url) => (url ? pgInsert(url) : undefined),
  'sqlite-indexed-read': sqliteIndexedRead,
  'pg-indexed-read': async (url) => (url ? pgIndexedRead(url) : undefined),
  'ws-broadcast': () => wsLoop(WS_CLIENTS, 'broadcast', 'ws-broadcast'),
  'ws-relay': () => wsLoop(WS_CLIENTS, 'relay', 'ws-relay'),
  'ws-relay-2': () => wsLoop(2, 'relay', 'ws-relay-2'),
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(ALL)
const pgUrl = wanted.some((w) => w.startsWith('pg-')) ? await benchPgUrl() : undefined
for (const name of wanted) {
  const measure = ALL[name]
  if (!measure) throw new Error(`no baseline named ${name} (have: ${Object.keys(ALL).join(', ')})`)
  console.log(`baseline ${name}`)
  await measure(pgUrl)
}
