/**
 * Reconnect storm (issue 12): C clients, each holding a cursor between 1 % and 100 % of M
 * changes behind, all reconnect at the same moment (a server restart, a network blip) to one
 * Pulse server on SQLite with accounts on. Measured: how many caught up with every change they
 * were behind, the time from the storm's start until the last one has (quiescence), the changes
 * delivered per second, and /api/v1/healthz p99 during the storm beside its p99 on the same
 * server idle just before (the baseline). Clients in child processes of 250, file limit raised.
 *
 *   node --import tsx bench/reconnect-storm.ts [clients=1000] [changes=10000]
 */
import { spawnFleet, spawnFleets, sumConnected } from './fleet.ts'
import { spawnServer } from './server-child.ts'
import { epochMs, percentile, printTable, probeHealth, report, warmUp } from './support.ts'

const CLIENTS = Number(process.argv[2] ?? 1000)
const CHANGES = Number(process.argv[3] ?? 10_000)
const PER_FLEET = 250
/** Cursors are taken every STEP changes: clients are STEP…CHANGES behind, spread evenly. */
const STEP = Math.max(1, Math.floor(CHANGES / 200))

async function cursorsEvery(url: string, token: string): Promise<string[]> {
  // A pull page of STEP changes ends at a cursor STEP further on: one cursor per page.
  const cursors: string[] = []
  let cursor: string | null = null
  for (;;) {
    const res = await fetch(`${url}/api/sync/pull?limit=${STEP}&models=item${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      headers: { 'x-auth-token': token },
    })
    if (res.status !== 200) throw new Error(`pull answered ${res.status}`)
    const page = (await res.json()) as { changes: unknown[]; cursor: string; hasMore: boolean }
    cursor = page.cursor
    if (!page.hasMore) break
    cursors.push(cursor)
  }
  return cursors
}

async function main(): Promise<void> {
  console.log(
    `Reconnect storm: ${CLIENTS.toLocaleString('en-US')} clients ${STEP.toLocaleString('en-US')}–${CHANGES.toLocaleString('en-US')} changes behind reconnect at once (server on SQLite, accounts on)`,
  )
  const server = await spawnServer({ kind: 'pulse', database: 'sqlite', apiTokens: 20 })
  try {
    const seedMs = await server.seed(CHANGES, 100)
    const token = server.tokens[0] as string
    // Position k·STEP for k = 0…: null is everything (CHANGES behind).
    const atStep = [null, ...(await cursorsEvery(server.url, token))]
    console.log(`  seeded ${CHANGES} changes in ${Math.round(seedMs)} ms; ${atStep.length} cursors, one every ${STEP} changes`)
    const cursorOf = (i: number) => Math.floor((i * atStep.length) / CLIENTS) % atStep.length
    const behind = (i: number) => CHANGES - cursorOf(i) * STEP

    await warmUp(
      '50 clients reconnect with cursors and catch up; healthz',
      async () => {
        const f = await spawnFleet({
          url: server.url,
          count: 50,
          tokens: server.tokens,
          prefix: `warm-${Math.random()}`,
          cursors: Array.from({ length: 50 }, (_, i) => atStep[(i * 4) % atStep.length] ?? null),
          wave: Number.POSITIVE_INFINITY,
        })
        await f.connect()
        await f.close()
        await probeHealth(server.url, 300)
      },
      0,
    )
    const idle = await probeHealth(server.url, 3000)
    const fleets = await spawnFleets(CLIENTS, PER_FLEET, (from, count, k) => ({
      url: server.url,
      count,
      tokens: server.tokens,
      prefix: `storm-${k}`,
      cursors: Array.from({ length: count }, (_, j) => atStep[cursorOf(from + j)] ?? null),
      expected: Array.from({ length: count }, (_, j) => behind(from + j)),
      wave: Number.POSITIVE_INFINITY,
    }))
    try {
      server.resetEld()
      const t0 = epochMs()
      const storm = Promise.all(fleets.map((f) => f.connect()))
      const during = await probeHealth(server.url, storm, 10)
      const done = sumConnected(await storm)
      const stats = await server.stats()
      const quiescenceMs = done.lastAt - t0
      const expected = Array.from({ length: CLIENTS }, (_, i) => behind(i)).reduce((a, b) => a + b, 0)
      printTable('Reconnect storm', [
        {
          clients: CLIENTS,
          'caught up': done.caughtUp,
          'failed/retries': `${done.failed}/${done.retries}`,
          'changes delivered': done.changes,
          'changes owed': expected,
          'quiescence ms': Math.round(quiescenceMs),
          'changes/s': Math.round((done.changes / quiescenceMs) * 1000),
          'healthz idle p99 ms': percentile(idle, 99).toFixed(1),
          'healthz storm p50 ms': percentile(during, 50).toFixed(1),
          'healthz storm p99 ms': percentile(during, 99).toFixed(1),
          'event-loop delay p99 ms': stats.eld.p99.toFixed(1),
        },
      ])
      if (done.errors.length > 0) console.log(`  errors: ${done.errors.join('; ')}`)
      const note = `${CLIENTS} clients, ${STEP}–${CHANGES} behind`
      report({ path: 'reconnect storm: clients caught up', figure: done.caughtUp, unit: 'clients', better: 'higher', aim: CLIENTS, note })
      report({ path: 'reconnect storm: time to quiescence', figure: quiescenceMs, unit: 'ms', better: 'lower', note })
      report({
        path: 'reconnect storm: changes delivered/s',
        figure: (done.changes / quiescenceMs) * 1000,
        unit: 'changes/s',
        better: 'higher',
        baselineName: 'sqlite-indexed-read',
        note: `${done.changes} changes`,
      })
      report({
        path: 'reconnect storm: healthz p99 during the storm',
        figure: percentile(during, 99),
        unit: 'ms',
        better: 'lower',
        baselineName: 'healthz p99 idle',
        baseline: percentile(idle, 99),
        note: `${during.length} probes`,
      })
    } finally {
      await Promise.all(fleets.map((f) => f.close()))
    }
  } finally {
    await server.close()
  }
}

await main()
