/**
 * Write throughput (issue 2): N task records written through the engine's write path in
 * batches, and through REST one request per record, on SQLite and PostgreSQL, next to the raw
 * driver's insert rate measured in the same run on the same machine.
 *
 *   node --import tsx bench/write.ts [N]          everything
 *   node --import tsx bench/write.ts [N] rest     only REST, beside a bare Fastify route (ratio)
 *   BENCH_LOGS=1 node --import tsx bench/write.ts [N] rest >/dev/null   the same, plus logs on
 *
 * The REST figures are printed beside a bare Fastify route that parses the same JSON body and
 * answers 201 with it, measured with the same load generator in the same run: the ratio is what
 * to compare between machines and runs.
 */

import { Worker } from 'node:worker_threads'
import { defineSchema, uuidv7 } from '@pulse/core'
import { createEngine, createPostgresStorage, createSqliteStorage, type SqlStorage, startServer, systemContext } from '@pulse/server'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import pg from 'pg'
import config from '../examples/tasks/pulse.config.ts'
import { benchPgUrl, nowMs, printTable, rate, tempSqlite, withPgSchema } from './support.ts'

const N = Number(process.argv[2] ?? 50_000)
const BATCH = 500
const REST_N = Math.min(N, 20_000)
const ONLY_REST = process.argv[3] === 'rest'
/** `BENCH_LOGS=1`: also Pulse on SQLite with its request logs on (JSON lines to stdout; send stdout to /dev/null). */
const LOGS = process.env.BENCH_LOGS === '1'
const REST_CONCURRENCY = 16
const schema = defineSchema(config.models)

/** The organization every benchmark task belongs to. */
const ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'

function taskData(i: number) {
  return {
    orgId: ORG,
    title: `Task ${i}`,
    description: 'Something to do, described at some length.',
    priority: i % 6,
    tags: ['bench', `t${i % 10}`],
    dueDate: '2026-12-24',
  }
}

/** The columns of a task row as the raw baselines insert them (`completed` as the driver takes booleans). */
function rawRow(d: ReturnType<typeof taskData>, at: string, completed: 0 | false): unknown[] {
  return [
    uuidv7(),
    1,
    '{"server":1}',
    at,
    at,
    null,
    '{}',
    d.title,
    d.description,
    'todo',
    d.priority,
    JSON.stringify(d.tags),
    d.dueDate,
    completed,
    null,
    null,
    d.orgId,
  ]
}

/** Raw better-sqlite3: one prepared INSERT per row in transactions of BATCH rows, same columns as a task row. */
function rawSqlite(n: number): number {
  const db = new Database(tempSqlite('raw'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER, vclock TEXT, createdAt TEXT, updatedAt TEXT, deletedAt TEXT, _fv TEXT,
    title TEXT, description TEXT, status TEXT, priority INTEGER, tags TEXT, dueDate TEXT, completed INTEGER, assigneeId TEXT, projectId TEXT, orgId TEXT)`)
  const insert = db.prepare('INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
  const tx = db.transaction((from: number, to: number) => {
    const at = new Date().toISOString()
    for (let i = from; i < to; i++) {
      insert.run(...rawRow(taskData(i), at, 0))
    }
  })
  const t0 = nowMs()
  for (let i = 0; i < n; i += BATCH) tx(i, Math.min(n, i + BATCH))
  const ms = nowMs() - t0
  db.close()
  return ms
}

/** Raw pg: multi-row parameterised INSERTs of BATCH rows, same columns. */
async function rawPg(url: string, n: number): Promise<number> {
  return withPgSchema(url, async (s) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`CREATE SCHEMA "${s}"`)
    await client.query(`CREATE TABLE "${s}".t (id uuid PRIMARY KEY, version bigint, vclock jsonb, "createdAt" timestamptz, "updatedAt" timestamptz, "deletedAt" timestamptz, _fv jsonb,
      title text, description text, status text, priority bigint, tags jsonb, "dueDate" date, completed boolean, "assigneeId" text, "projectId" uuid, "orgId" text)`)
    const t0 = nowMs()
    for (let i = 0; i < n; i += BATCH) {
      const params: unknown[] = []
      const rows: string[] = []
      const at = new Date().toISOString()
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        const d = taskData(j)
        const base = params.length
        params.push(...rawRow(d, at, false))
        rows.push(`(${Array.from({ length: 17 }, (_, k) => `$${base + k + 1}`).join(',')})`)
      }
      await client.query(`INSERT INTO "${s}".t VALUES ${rows.join(',')}`, params)
    }
    const ms = nowMs() - t0
    await client.end()
    return ms
  })
}

/** The engine's write path: creates in batches of BATCH, one transaction each. */
async function engineWrites(storage: SqlStorage, n: number): Promise<number> {
  try {
    await storage.migrate(schema)
    const engine = createEngine({ storage, schema })
    const ctx = systemContext()
    const t0 = nowMs()
    for (let i = 0; i < n; i += BATCH) {
      const ops = Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => ({
        op: 'create' as const,
        model: 'task',
        data: taskData(i + k),
      }))
      const { outcomes } = await engine.write(ctx, ops, { atomic: true })
      if (outcomes.length !== ops.length) throw new Error('lost writes')
    }
    return nowMs() - t0
  } finally {
    await storage.close()
  }
}

/** REST: one POST per record, REST_CONCURRENCY requests in flight. */
/** The load generator's code: `concurrency` loops of POSTs until `n` are answered. */
const REST_LOAD = `
const { parentPort, workerData } = require('node:worker_threads')
const { url, token, n, concurrency, bodies } = workerData
let next = 0
async function loop() {
  while (next < n) {
    const i = next++
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-token': token }, body: bodies[i] })
    if (res.status !== 201) throw new Error('POST answered ' + res.status)
    await res.arrayBuffer()
  }
}
Promise.all(Array.from({ length: concurrency }, loop)).then(() => parentPort.postMessage({}), (e) => parentPort.postMessage({ error: String(e) }))
`

/** Sends `n` POSTs of task bodies to `url` from a worker thread, `REST_CONCURRENCY` in flight; resolves with the milliseconds. */
async function load(url: string, token: string, n: number): Promise<number> {
  // The load comes from a worker thread (the machine's other core), so the figure is the
  // server's, not the cost of the HTTP client sharing its event loop.
  const bodies = Array.from({ length: n }, (_, i) => JSON.stringify(taskData(i)))
  const t0 = nowMs()
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(REST_LOAD, { eval: true, workerData: { url, token, n, concurrency: REST_CONCURRENCY, bodies } })
    worker.once('message', (m: { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve()))
    worker.once('error', reject)
  })
  return nowMs() - t0
}

/** The baseline: a bare Fastify route that parses the same JSON and answers 201 with it and an id. */
async function bareFastify(n: number): Promise<number> {
  const app = Fastify({ logger: false })
  app.post('/api/tasks', async (request, reply) => reply.code(201).send({ id: uuidv7(), ...(request.body as object) }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await load(`${address}/api/tasks`, 'none', Math.min(n, 2_000)) // warm-up
    return await load(`${address}/api/tasks`, 'none', n)
  } finally {
    await app.close()
  }
}

async function restWrites(storage: SqlStorage, n: number, logs = false): Promise<number> {
  // Accounts on, as in production: each request is authenticated with an admin API token.
  const server = await startServer({
    schema,
    database: storage,
    port: 0,
    logger: logs ? { level: 'info', format: 'json' } : false,
    auth: { secret: 'bench secret of at least thirty-two chars', tokenRatePerSecond: 1_000_000, apiTokenRatePerSecond: 1_000_000 },
  })
  const { token } = await (server.accounts as NonNullable<typeof server.accounts>).createApiToken({ name: 'bench', admin: true })
  try {
    await load(`${server.url}/api/tasks`, token, Math.min(n, 2_000)) // warm-up
    return await load(`${server.url}/api/tasks`, token, n)
  } finally {
    await server.close()
  }
}

/** REST alone: the bare route, then Pulse on SQLite and PostgreSQL, with their ratios to the bare route. */
async function restOnly(): Promise<void> {
  console.log(`REST writes: ${REST_N.toLocaleString('en-US')} POSTs of one task each, ${REST_CONCURRENCY} in flight, after a warm-up`)
  const bare = await bareFastify(REST_N)
  const rows: Record<string, string | number>[] = [{ server: 'bare Fastify route', 'requests/s': rate(REST_N, bare), 'vs bare': '1.00' }]
  const restS = await restWrites(await createSqliteStorage({ filename: tempSqlite('rest') }), REST_N)
  rows.push({ server: 'Pulse, SQLite', 'requests/s': rate(REST_N, restS), 'vs bare': (bare / restS).toFixed(2) })
  if (LOGS) {
    const logged = await restWrites(await createSqliteStorage({ filename: tempSqlite('rest-logs') }), REST_N, true)
    rows.push({ server: 'Pulse, SQLite, request logs on', 'requests/s': rate(REST_N, logged), 'vs bare': (bare / logged).toFixed(2) })
  }
  const url = await benchPgUrl()
  if (url) {
    const restP = await withPgSchema(url, async (s) =>
      restWrites(await createPostgresStorage({ connectionString: url, schema: s }), REST_N),
    )
    rows.push({ server: 'Pulse, PostgreSQL', 'requests/s': rate(REST_N, restP), 'vs bare': (bare / restP).toFixed(2) })
  }
  const title = 'REST create, 1 record per request (higher is better); aim: SQLite ≥ 0.5 of the bare route'
  // With logs on, stdout carries the server's log lines: the table goes to stderr.
  if (LOGS) console.error(`\n${title}\n${JSON.stringify(rows, null, 1)}`)
  else printTable(title, rows)
}

async function main(): Promise<void> {
  console.log(
    `Write throughput: ${N.toLocaleString('en-US')} records through the write path (batches of ${BATCH}), ${REST_N.toLocaleString('en-US')} through REST (${REST_CONCURRENCY} in flight)`,
  )
  const rows: Record<string, string | number>[] = []
  const rawS = rawSqlite(N)
  const engS = await engineWrites(await createSqliteStorage({ filename: tempSqlite('engine') }), N)
  const restS = await restWrites(await createSqliteStorage({ filename: tempSqlite('rest') }), REST_N)
  rows.push({
    database: 'SQLite',
    'raw driver': rate(N, rawS),
    'write path (batched)': rate(N, engS),
    'vs raw': `${((rawS / engS) * 100).toFixed(1)} %`,
    'REST (1 per request)': rate(REST_N, restS),
  })
  const url = await benchPgUrl()
  if (url) {
    const rawP = await rawPg(url, N)
    const engP = await withPgSchema(url, async (s) => engineWrites(await createPostgresStorage({ connectionString: url, schema: s }), N))
    const restP = await withPgSchema(url, async (s) =>
      restWrites(await createPostgresStorage({ connectionString: url, schema: s }), REST_N),
    )
    rows.push({
      database: 'PostgreSQL',
      'raw driver': rate(N, rawP),
      'write path (batched)': rate(N, engP),
      'vs raw': `${((rawP / engP) * 100).toFixed(1)} %`,
      'REST (1 per request)': rate(REST_N, restP),
    })
  }
  printTable('records/s (higher is better); aim: SQLite write path ≥ 30 % of raw', rows)
}

await (ONLY_REST ? restOnly() : main())
