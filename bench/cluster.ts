/**
 * Two Pulse processes (issue 12) on one PostgreSQL schema and one Redis bus, accounts on:
 * - throughput: REST creates (1 record per request, 16 in flight per process) spread over
 *   both processes, beside the same load on one of them alone (the baseline: the ratio is
 *   what the second process adds on this machine);
 * - cross-process delivery: S clients (a child process) connected to process B, single-record
 *   writes on process A, timed from the write call until each client has parsed the change,
 *   beside the same writes made on B itself (the baseline: same-process delivery).
 *
 *   node --import tsx bench/cluster.ts [writes=20000] [sockets=200]
 */
import pg from 'pg'
import { type Fleet, spawnFleet } from './fleet.ts'
import { type ServerChild, spawnServer } from './server-child.ts'
import { benchPgUrl, epochMs, percentile, postLoad, printTable, rate, report, sized, warmUp } from './support.ts'

const WRITES = Number(process.argv[2] ?? 20_000)
const SOCKETS = Number(process.argv[3] ?? 200)
const DELIVERIES = sized(100, 40)
const CONCURRENCY = 16
const GAP_MS = 20
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

const itemBodies = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ name: `${tag} ${i}`, price: `${i % 1000}.99` }))

/** Writes DELIVERIES items on `writer`, spaced; returns per-write last delivery and every delivery, ms. */
async function deliveries(
  writer: ServerChild,
  fleet: Fleet,
  tag: string,
): Promise<{ last: number[]; each: number[]; missing: number; pokes: number }> {
  fleet.watch()
  const sentAt = new Map<string, number>()
  for (let k = 0; k < DELIVERIES; k++) {
    const name = `${tag}-${k}`
    const t0 = epochMs()
    sentAt.set(name, t0)
    const res = await fetch(`${writer.url}/api/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': writer.tokens[0] as string },
      body: JSON.stringify({ name, price: '1.00' }),
    })
    if (res.status !== 201) throw new Error(`write answered ${res.status}: ${await res.text()}`)
    await new Promise((r) => setTimeout(r, GAP_MS))
  }
  await new Promise((r) => setTimeout(r, 1000))
  const { arrivals, pokes } = await fleet.arrivals()
  const last: number[] = []
  const each: number[] = []
  let missing = 0
  for (const [name, t0] of sentAt) {
    const at = arrivals[name] ?? []
    missing += SOCKETS - at.length
    for (const a of at) each.push(a - t0)
    if (at.length > 0) last.push(Math.max(...at) - t0)
  }
  return { last, each, missing, pokes }
}

async function main(): Promise<void> {
  const url = await benchPgUrl()
  if (!url) {
    if (process.env.CI === 'true') throw new Error('PostgreSQL is required for the cluster bench')
    return
  }
  const schema = `bench_cluster_${process.pid}`
  const channel = `pulse-bench-${process.pid}`
  console.log(
    `Two processes on PostgreSQL (schema ${schema}) and Redis (channel ${channel}): ${WRITES.toLocaleString('en-US')} REST creates, ${CONCURRENCY} in flight per process; ${DELIVERIES} writes delivered to ${SOCKETS} sockets`,
  )
  const config = { kind: 'pulse' as const, database: url, pgSchema: schema, bus: REDIS_URL, busChannel: channel, apiTokens: 4 }
  // One after the other: both migrate the same schema.
  const a = await spawnServer(config)
  const b = await spawnServer(config)
  let fleet: Fleet | undefined
  try {
    const tokenA = { 'x-auth-token': a.tokens[0] as string }
    // API tokens are per process database rows: both processes share the database, so either token works on both.
    const tokenB = { 'x-auth-token': b.tokens[0] as string }
    await warmUp('REST creates on both processes', () =>
      Promise.all([
        postLoad(`${a.url}/api/items`, tokenA, itemBodies(sized(500, 200), 'warm a'), CONCURRENCY),
        postLoad(`${b.url}/api/items`, tokenB, itemBodies(sized(500, 200), 'warm b'), CONCURRENCY),
      ]),
    )
    const oneMs = await postLoad(`${a.url}/api/items`, tokenA, itemBodies(WRITES, 'one'), CONCURRENCY)
    const half = Math.floor(WRITES / 2)
    const twoMs = Math.max(
      ...(await Promise.all([
        postLoad(`${a.url}/api/items`, tokenA, itemBodies(half, 'two a'), CONCURRENCY),
        postLoad(`${b.url}/api/items`, tokenB, itemBodies(WRITES - half, 'two b'), CONCURRENCY),
      ])),
    )

    fleet = await spawnFleet({ url: b.url, count: SOCKETS, tokens: b.tokens, prefix: 'cluster', wave: 100 })
    const connected = await fleet.connect()
    if (connected.caughtUp < SOCKETS)
      throw new Error(`only ${connected.caughtUp} of ${SOCKETS} clients caught up: ${connected.errors.join('; ')}`)
    await warmUp(
      'writes on A and B delivered to the sockets on B',
      async () => {
        await deliveries(a, fleet as Fleet, `warm-a-${Math.random()}`)
        await deliveries(b, fleet as Fleet, `warm-b-${Math.random()}`)
      },
      0,
    )
    const same = await deliveries(b, fleet, 'same')
    const cross = await deliveries(a, fleet, 'cross')
    const row = (what: string, d: Awaited<ReturnType<typeof deliveries>>) => ({
      what,
      'last delivery p50 ms': percentile(d.last, 50).toFixed(1),
      'last delivery p99 ms': percentile(d.last, 99).toFixed(1),
      'each delivery p99 ms': percentile(d.each, 99).toFixed(1),
      missing: d.missing,
      pokes: d.pokes,
    })
    printTable('Throughput (REST creates, records/s)', [
      { processes: 1, 'records/s': rate(WRITES, oneMs) },
      { processes: 2, 'records/s': rate(WRITES, twoMs) },
    ])
    printTable(`Delivery to ${SOCKETS} sockets on B`, [row('write on B (same process)', same), row('write on A (over Redis)', cross)])
    report({
      path: 'cluster: REST creates/s, 2 processes (PG + Redis)',
      figure: (WRITES / twoMs) * 1000,
      unit: 'req/s',
      better: 'higher',
      baselineName: 'same load on 1 process',
      baseline: (WRITES / oneMs) * 1000,
    })
    report({
      path: `cluster: cross-process delivery to ${SOCKETS} sockets, last p99`,
      figure: percentile(cross.last, 99),
      unit: 'ms',
      better: 'lower',
      baselineName: 'same-process delivery',
      baseline: percentile(same.last, 99),
      note: `${cross.missing} missing, ${cross.pokes} pokes`,
    })
  } finally {
    await fleet?.close()
    await b.close()
    await a.close()
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
}

await main()
