/**
 * Sync throughput (issue 3), over HTTP against a real server, on SQLite and PostgreSQL:
 * - push: devices push batches of 100 mutations (creates, then updates of records another
 *   device changed concurrently, so every update is clock-compared and field-resolved);
 * - pull: one client's initial sync of N records, pages of 5,000, over HTTP; beside it, in the
 *   same run, the engine's pull in process with its wire cache (as committed) and with none
 *   (every record read and serialised), and the floor: a raw read of the N ids by primary key.
 *
 *   node --import tsx bench/sync.ts [PUSH_N] [PULL_N]
 */
import { defineSchema, type Mutation, uuidv7 } from '@pulse/core'
import {
  createEngine,
  createPostgresStorage,
  createSqliteStorage,
  type Engine,
  type RunningServer,
  type SqlStorage,
  startServer,
  systemContext,
} from '@pulse/server'
import Database from 'better-sqlite3'
import pg from 'pg'
import config from '../examples/tasks/pulse.config.ts'
import { encodePage } from '../packages/server/src/engine/pull.ts'
import { benchPgUrl, nowMs, printTable, rate, report, tempSqlite, warmUp, withPgSchema } from './support.ts'

// `let`: the warm-up runs at a tenth of the size.
let PUSH_N = Number(process.argv[2] ?? 20_000)
let PULL_N = Number(process.argv[3] ?? 100_000)
const BATCH = 100
const DEVICES = 4
const schema = defineSchema(config.models)
/** The organization every benchmark task belongs to. */
const ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'
/** The admin API token of the server under test (set once it starts). */
let token = ''

async function post(url: string, body: unknown): Promise<{ lastMid: number; results: { status: string }[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify(body),
  })
  if (res.status !== 200) throw new Error(`push answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as { lastMid: number; results: { status: string }[] }
}

/** Pushes PUSH_N creates then PUSH_N concurrent updates; returns ms for each phase and status counts. */
async function pushPhase(
  server: RunningServer,
): Promise<{ createMs: number; followMs: number; updateMs: number; statuses: Record<string, number> }> {
  const perDevice = Math.ceil(PUSH_N / DEVICES)
  const ids: string[][] = Array.from({ length: DEVICES }, () => [])
  const mids = new Array<number>(DEVICES).fill(0)
  const statuses: Record<string, number> = {}
  const at = () => new Date().toISOString()
  const run = (make: (d: number, i: number) => Mutation) =>
    Promise.all(
      Array.from({ length: DEVICES }, async (_, d) => {
        for (let i = 0; i < perDevice; i += BATCH) {
          const mutations = Array.from({ length: Math.min(BATCH, perDevice - i) }, (_, k) => make(d, i + k))
          const res = await post(`${server.url}/api/sync/push`, { clientId: `bench-${d}`, mutations })
          for (const r of res.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
        }
      }),
    )
  let t0 = nowMs()
  await run((d, i) => {
    const id = uuidv7()
    ids[d]?.push(id)
    mids[d] = (mids[d] ?? 0) + 1
    return {
      mid: mids[d] as number,
      model: 'task',
      op: 'create',
      id,
      vclock: { [`bench-${d}`]: 1 },
      at: at(),
      data: { title: `Task ${i}`, priority: i % 6, tags: ['a'], orgId: ORG },
    }
  })
  const createMs = nowMs() - t0
  // Each device edits its own records: clocks that follow the server's, applied as sent.
  t0 = nowMs()
  await run((d, i) => {
    const id = ids[d]?.[i] as string
    mids[d] = (mids[d] ?? 0) + 1
    return {
      mid: mids[d] as number,
      model: 'task',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [`bench-${d}`]: 2 },
      at: at(),
      data: { priority: (i + 2) % 6, tags: ['a', 'own'], description: `Task ${i}, edited by its owner` },
    }
  })
  const followMs = nowMs() - t0
  // Device d edits device d+1's records from version 1, unaware of the owner's edit: concurrent;
  // priority (max), tags (union) and description (text merge) are contested and merged.
  t0 = nowMs()
  await run((d, i) => {
    const owner = (d + 1) % DEVICES
    const id = ids[owner]?.[i] as string
    mids[d] = (mids[d] ?? 0) + 1
    return {
      mid: mids[d] as number,
      model: 'task',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [`bench-${owner}`]: 1, [`bench-${d}`]: 1 },
      at: at(),
      data: { priority: (i + 1) % 6, tags: ['a', `d${d}`], description: `Task ${i} as seen by ${d}` },
    }
  })
  const updateMs = nowMs() - t0
  return { createMs, followMs, updateMs, statuses }
}

/** Times a full pull of every item through `engine` in process, pages of 5,000 encoded for sending. */
async function enginePull(engine: Engine): Promise<number> {
  const ctx = systemContext()
  let cursor: string | null = null
  let received = 0
  const t0 = nowMs()
  for (;;) {
    const page = await engine.pull(ctx, { cursor, limit: 5000, models: ['item'] }, (p) => void encodePage(p))
    received += page.wire.length
    cursor = page.cursor
    if (!page.hasMore) break
  }
  if (received < PULL_N) throw new Error(`pulled ${received} of ${PULL_N}`)
  return nowMs() - t0
}

/** Seeds PULL_N records through the engine, then times a full initial pull over HTTP. */
async function pullPhase(server: RunningServer): Promise<number> {
  const ctx = systemContext()
  for (let i = 0; i < PULL_N; i += 1000) {
    const ops = Array.from({ length: Math.min(1000, PULL_N - i) }, (_, k) => ({
      op: 'create' as const,
      model: 'item',
      data: { name: `Item ${i + k}`, price: `${(i + k) % 1000}.99` },
    }))
    await server.engine.write(ctx, ops, { atomic: true })
  }
  let cursor: string | null = null
  let received = 0
  const t0 = nowMs()
  for (;;) {
    const res = await fetch(`${server.url}/api/sync/pull?limit=5000&models=item${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { 'x-auth-token': token },
    })
    const page = (await res.json()) as { changes: unknown[]; cursor: string; hasMore: boolean }
    received += page.changes.length
    cursor = page.cursor
    if (!page.hasMore) break
  }
  const ms = nowMs() - t0
  if (received < PULL_N) throw new Error(`pulled ${received} of ${PULL_N}`)
  return ms
}

/** The floor: every item id read by primary key, straight from the database, in ms. */
type RawRead = () => Promise<number>

async function measure(label: string, makeStorage: () => Promise<SqlStorage>, raw: RawRead): Promise<Record<string, string | number>> {
  // Accounts on, as in production: requests carry an admin API token.
  const server = await startServer({
    schema,
    database: await makeStorage(),
    port: 0,
    logger: false,
    auth: { secret: 'bench secret of at least thirty-two chars', tokenRatePerSecond: 1_000_000, apiTokenRatePerSecond: 1_000_000 },
  })
  token = (await (server.accounts as NonNullable<typeof server.accounts>).createApiToken({ name: 'bench', admin: true })).token
  try {
    const push = await pushPhase(server)
    const pullMs = await pullPhase(server)
    reportSync(label, push.updateMs, push.createMs, pullMs)
    const warmMs = await enginePull(server.engine)
    const coldMs = await enginePull(createEngine({ storage: server.engine.storage, schema, wireCacheBytes: 0 }))
    const rawMs = await raw()
    return {
      database: label,
      'push creates': rate(PUSH_N, push.createMs),
      'push updates': rate(PUSH_N, push.followMs),
      'push concurrent updates': rate(PUSH_N, push.updateMs),
      statuses: Object.entries(push.statuses)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      [`pull ${PULL_N.toLocaleString('en-US')} records`]: rate(PULL_N, pullMs),
      'engine pull, cached': rate(PULL_N, warmMs),
      'engine pull, no cache': rate(PULL_N, coldMs),
      'raw id read': rate(PULL_N, rawMs),
      'pull / raw': (rawMs / pullMs).toFixed(2),
    }
  } finally {
    await server.close()
  }
}

/** The figures for bench/run.ts's table (not during the warm-up). */
let reporting = false
function reportSync(label: string, updateMs: number, createMs: number, pullMs: number): void {
  if (!reporting) return
  const sqlite = label === 'SQLite'
  report({
    path: `push batches of ${BATCH}, concurrent updates (conflict-checked, merged), ${label}`,
    figure: (PUSH_N / updateMs) * 1000,
    unit: 'mutations/s',
    better: 'higher',
    aim: sqlite ? 60_000 : 25_000,
    baselineName: sqlite ? 'sqlite-insert' : 'pg-insert',
  })
  report({
    path: `push batches of ${BATCH}, creates, ${label}`,
    figure: (PUSH_N / createMs) * 1000,
    unit: 'mutations/s',
    better: 'higher',
    baselineName: sqlite ? 'sqlite-insert' : 'pg-insert',
  })
  report({
    path: `pull ${PULL_N.toLocaleString('en-US')}-record initial sync, ${label}`,
    figure: (PULL_N / pullMs) * 1000,
    unit: 'records/s',
    better: 'higher',
    aim: sqlite ? 250_000 : 150_000,
    baselineName: sqlite ? 'sqlite-indexed-read' : 'pg-indexed-read',
  })
}

/** The floor of a pull on SQLite: every id of the table read by its primary key, raw. */
function sqliteRawOf(file: string): RawRead {
  return async () => {
    const db = new Database(file, { readonly: true })
    try {
      const t0 = nowMs()
      const ids = db.prepare('SELECT id FROM "item" ORDER BY id').raw().all()
      if (ids.length < PULL_N) throw new Error(`read ${ids.length} ids`)
      return nowMs() - t0
    } finally {
      db.close()
    }
  }
}

async function main(): Promise<void> {
  const [pushN, pullN] = [PUSH_N, PULL_N]
  ;[PUSH_N, PULL_N] = [Math.ceil(pushN / 10), Math.ceil(pullN / 10)]
  const warmFile = tempSqlite('warm')
  await warmUp('push and pull on SQLite at a tenth of the size', () =>
    measure('SQLite', () => createSqliteStorage({ filename: warmFile }), sqliteRawOf(warmFile)),
  )
  ;[PUSH_N, PULL_N] = [pushN, pullN]
  reporting = true
  console.log(
    `Sync throughput over HTTP: ${DEVICES} devices push ${PUSH_N.toLocaleString('en-US')} creates then ${PUSH_N.toLocaleString('en-US')} concurrent updates in batches of ${BATCH}; one client pulls ${PULL_N.toLocaleString('en-US')} records`,
  )
  const file = tempSqlite('sync')
  const rows = [await measure('SQLite', () => createSqliteStorage({ filename: file }), sqliteRawOf(file))]
  const url = await benchPgUrl()
  if (url)
    rows.push(
      await withPgSchema(url, (s) =>
        measure(
          'PostgreSQL',
          () => createPostgresStorage({ connectionString: url, schema: s }),
          async () => {
            const client = new pg.Client({ connectionString: url })
            await client.connect()
            try {
              const t0 = nowMs()
              const { rows: ids } = await client.query({ text: `SELECT id FROM "${s}"."item" ORDER BY id`, rowMode: 'array' })
              if (ids.length < PULL_N) throw new Error(`read ${ids.length} ids`)
              return nowMs() - t0
            } finally {
              await client.end()
            }
          },
        ),
      ),
    )
  printTable('mutations/s and records/s (aims on SQLite: push ≥ 60k/s, pull ≥ 250k/s)', rows)
}

await main()
