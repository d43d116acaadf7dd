/**
 * Write throughput (issue 2): N task records written through the engine's write path in
 * batches, and through REST one request per record, on SQLite and PostgreSQL, next to the raw
 * driver's insert rate measured in the same run on the same machine.
 *
 *   node --import tsx bench/write.ts [N]          everything
 *   node --import tsx bench/write.ts [N] rest     only REST, beside a bare Fastify route (ratios of rate and of server CPU per request)
 *   BENCH_LOGS=1 node --import tsx bench/write.ts [N] rest >/dev/null   the same, plus logs on
 *   node --import tsx bench/write.ts [N] rest user   the same with a signed-in user's access token (memberships read per request and locked per write) instead of an admin API token
 *
 * The REST figures are printed beside a bare Fastify route that parses the same JSON body and
 * answers 201 with it, measured with the same load generator in the same run: the ratio is what
 * to compare between machines and runs.
 */

import { defineSchema, uuidv7 } from '@pulse/core'
import { createEngine, createPostgresStorage, createSqliteStorage, type SqlStorage, startServer, systemContext } from '@pulse/server'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import pg from 'pg'
import config from '../examples/tasks/pulse.config.ts'
import { benchPgUrl, nowMs, postLoad, printTable, rate, rawTaskRow, report, taskData, tempSqlite, warmUp, withPgSchema } from './support.ts'

const N = Number(process.argv[2] ?? 50_000)
const BATCH = 500
const REST_N = Math.min(N, 20_000)
const ONLY_REST = process.argv[3] === 'rest'
/** `rest user`: requests carry a user's access token, in an organization of theirs, not an admin API token. */
const AS_USER = process.argv[4] === 'user'
/** `BENCH_LOGS=1`: also Pulse on SQLite with its request logs on (JSON lines to stdout; send stdout to /dev/null). */
const LOGS = process.env.BENCH_LOGS === '1'
const REST_CONCURRENCY = 16
const schema = defineSchema(config.models)

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
      insert.run(...rawTaskRow(taskData(i), at, 0))
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
        params.push(...rawTaskRow(d, at, false))
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

/** What one load run measured: wall milliseconds, and this process's CPU milliseconds (the server's alone: the load runs in another process). */
interface Measured {
  ms: number
  cpuMs: number
}

/**
 * Sends `n` POSTs of task bodies to `url` from another process, `REST_CONCURRENCY` in flight
 * (`postLoad`, the bare route's baseline's generator too). This process's CPU time is the
 * server's: CPU per request moves much less than requests per second on a shared machine.
 */
async function load(url: string, headers: Record<string, string>, n: number, orgId?: string): Promise<Measured> {
  const bodies = Array.from({ length: n }, (_, i) => JSON.stringify({ ...taskData(i), ...(orgId ? { orgId } : {}) }))
  const cpu0 = process.cpuUsage()
  const ms = await postLoad(url, headers, bodies, REST_CONCURRENCY)
  const cpu = process.cpuUsage(cpu0)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 }
}

/** The baseline: a bare Fastify route that parses the same JSON and answers 201 with it and an id. */
async function bareFastify(n: number): Promise<Measured> {
  const app = Fastify({ logger: false })
  app.post('/api/tasks', async (request, reply) => reply.code(201).send({ id: uuidv7(), ...(request.body as object) }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await load(`${address}/api/tasks`, { 'x-auth-token': 'none' }, Math.min(n, 2_000)) // warm-up
    return await load(`${address}/api/tasks`, { 'x-auth-token': 'none' }, n)
  } finally {
    await app.close()
  }
}

/** Who sends the REST load: its headers, and the organization its tasks go to (the bench's own when absent). */
interface Caller {
  headers: Record<string, string>
  orgId?: string
}

async function apiCaller(server: Awaited<ReturnType<typeof startServer>>): Promise<Caller> {
  const { token } = await (server.accounts as NonNullable<typeof server.accounts>).createApiToken({ name: 'bench', admin: true })
  return { headers: { 'x-auth-token': token } }
}

/** A user registered and signed in over HTTP, owner of an organization of their own. */
async function signedInUser(url: string): Promise<Caller> {
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as Record<string, any>
  }
  const credentials = { username: 'bench-user', password: 'a bench password of some length' }
  await post('/api/auth/register', credentials)
  const { access } = await post('/api/auth/login', { ...credentials, deviceName: 'bench' })
  const headers = { authorization: `Bearer ${access}` }
  const org = await post('/api/orgs', { name: 'Bench' }, headers)
  return { headers, orgId: org.id }
}

async function restWrites(storage: SqlStorage, n: number, logs = false): Promise<Measured> {
  // Accounts on, as in production: each request is authenticated with an admin API token.
  const server = await startServer({
    schema,
    database: storage,
    port: 0,
    logger: logs ? { level: 'info', format: 'json' } : false,
    auth: { secret: 'bench secret of at least thirty-two chars', tokenRatePerSecond: 1_000_000, apiTokenRatePerSecond: 1_000_000 },
  })
  const caller = AS_USER ? await signedInUser(server.url) : await apiCaller(server)
  try {
    await load(`${server.url}/api/tasks`, caller.headers, Math.min(n, 2_000), caller.orgId) // warm-up
    return await load(`${server.url}/api/tasks`, caller.headers, n, caller.orgId)
  } finally {
    await server.close()
  }
}

/** The figures for bench/run.ts's table. */
function reportWrites(database: 'SQLite' | 'PostgreSQL', rawMs: number, engineMs: number, restMs: number): void {
  report({
    path: `REST create, 1 record/request, ${REST_CONCURRENCY} in flight, ${database}`,
    figure: (REST_N / restMs) * 1000,
    unit: 'req/s',
    better: 'higher',
    aim: database === 'SQLite' ? 10_000 : 5_000,
    baselineName: 'fastify-json-route',
  })
  report({
    path: `write path, batches of ${BATCH}, ${database}`,
    figure: (N / engineMs) * 1000,
    unit: 'records/s',
    better: 'higher',
    baselineName: `raw ${database} insert, batches of ${BATCH}`,
    baseline: (N / rawMs) * 1000,
  })
}

/** A row of the REST table: rate and server CPU per request, each beside the bare route's. */
function restRow(server: string, m: Measured, bare: Measured): Record<string, string> {
  const cpuUs = (x: Measured) => (x.cpuMs * 1000) / REST_N
  return {
    server,
    'requests/s': rate(REST_N, m.ms),
    'rate vs bare': (bare.ms / m.ms).toFixed(2),
    'server CPU µs/request': cpuUs(m).toFixed(0),
    'CPU: bare / this': (cpuUs(bare) / cpuUs(m)).toFixed(2),
  }
}

/** REST alone: the bare route, then Pulse on SQLite and PostgreSQL, with their ratios to the bare route. */
async function restOnly(): Promise<void> {
  console.log(`REST writes: ${REST_N.toLocaleString('en-US')} POSTs of one task each, ${REST_CONCURRENCY} in flight, after a warm-up`)
  const bare = await bareFastify(REST_N)
  const rows = [restRow('bare Fastify route', bare, bare)]
  rows.push(restRow('Pulse, SQLite', await restWrites(await createSqliteStorage({ filename: tempSqlite('rest') }), REST_N), bare))
  if (LOGS) {
    const logged = await restWrites(await createSqliteStorage({ filename: tempSqlite('rest-logs') }), REST_N, true)
    rows.push(restRow('Pulse, SQLite, request logs on', logged, bare))
  }
  const url = await benchPgUrl()
  if (url) {
    const restP = await withPgSchema(url, async (s) =>
      restWrites(await createPostgresStorage({ connectionString: url, schema: s }), REST_N),
    )
    rows.push(restRow('Pulse, PostgreSQL', restP, bare))
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
  await warmUp('write path and REST on SQLite, small', async () => {
    rawSqlite(5_000)
    await engineWrites(await createSqliteStorage({ filename: tempSqlite('warm') }), 5_000)
    await restWrites(await createSqliteStorage({ filename: tempSqlite('warm-rest') }), 1_000)
  })
  const rawS = rawSqlite(N)
  const engS = await engineWrites(await createSqliteStorage({ filename: tempSqlite('engine') }), N)
  const restS = (await restWrites(await createSqliteStorage({ filename: tempSqlite('rest') }), REST_N)).ms
  rows.push({
    database: 'SQLite',
    'raw driver': rate(N, rawS),
    'write path (batched)': rate(N, engS),
    'vs raw': `${((rawS / engS) * 100).toFixed(1)} %`,
    'REST (1 per request)': rate(REST_N, restS),
  })
  reportWrites('SQLite', rawS, engS, restS)
  const url = await benchPgUrl()
  if (url) {
    const rawP = await rawPg(url, N)
    const engP = await withPgSchema(url, async (s) => engineWrites(await createPostgresStorage({ connectionString: url, schema: s }), N))
    const restP = await withPgSchema(
      url,
      async (s) => (await restWrites(await createPostgresStorage({ connectionString: url, schema: s }), REST_N)).ms,
    )
    rows.push({
      database: 'PostgreSQL',
      'raw driver': rate(N, rawP),
      'write path (batched)': rate(N, engP),
      'vs raw': `${((rawP / engP) * 100).toFixed(1)} %`,
      'REST (1 per request)': rate(REST_N, restP),
    })
    reportWrites('PostgreSQL', rawP, engP, restP)
  }
  printTable('records/s (higher is better); aim: SQLite write path ≥ 30 % of raw', rows)
}

await (ONLY_REST ? restOnly() : main())
