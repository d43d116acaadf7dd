/**
 * Idle sockets at scale (issue 12): N authenticated WebSocket clients held open on one server
 * process, the clients spread over child processes of 5,000. Measured twice in the same run:
 * on the bare `ws` loop (the baseline: what a socket costs with nothing of Pulse in it) and on
 * a Pulse server on SQLite with accounts on (every hello presents an API token, re-checked
 * while open). For each: memory per socket (RSS and heap growth over the idle server, after
 * GC, divided by the sockets held), the event-loop delay p99 over an idle window in which the
 * heartbeat and the credential re-check run several times, and /api/v1/healthz p99 over that
 * window. Server and client processes get the hard file limit (`ulimit -n`).
 *
 *   node --import tsx bench/sockets.ts [N=20000]
 */

import { type Fleet, spawnFleets, sumConnected } from './fleet.ts'
import { type ServerChild, spawnServer } from './server-child.ts'
import { nowMs, percentile, printTable, probeHealth, QUICK, report, sized, warmUp } from './support.ts'

const N = Number(process.argv[2] ?? 20_000)
const PER_FLEET = 5_000
/** Shorter than production's 30 s so the idle window holds several rounds (harsher, not kinder). */
const HEARTBEAT_MS = sized(5_000, 2_000)
/** Credential re-check of every open socket (production default 10 s). */
const RECHECK_MS = sized(10_000, 3_000)
const IDLE_WINDOW_MS = sized(20_000, 7_000)
/** Descriptors the server keeps for itself beside its sockets (listening socket, database, stdio, epoll…). */
const FD_RESERVE = 64
const AIM_SOCKETS = 20_000
const AIM_KB = 15

interface Measured {
  held: number
  rssKB: number
  heapKB: number
  eldP99: number
  eldMax: number
  healthP50: number
  healthP99: number
  connectMs: number
  failed: number
  retries: number
  limitNote: string
}

async function measure(kind: 'bare' | 'pulse'): Promise<Measured> {
  const server: ServerChild = await spawnServer({
    kind,
    ...(kind === 'pulse' ? { database: 'sqlite', apiTokens: 20, recheckIntervalMs: RECHECK_MS } : {}),
    heartbeatIntervalMs: HEARTBEAT_MS,
  })
  let fleets: Fleet[] = []
  try {
    // Warm the server's paths (HTTP, upgrade, hello, catch-up) before the empty figure.
    const warm = await spawnFleets(200, 200, () => ({ url: server.url, count: 200, tokens: server.tokens, prefix: `warm-${kind}` }))
    await warmUp(
      `${kind}: 200 clients connect, say hello, catch up and leave; healthz`,
      async () => {
        await Promise.all(warm.map((f) => f.connect()))
        await probeHealth(server.url, 200)
      },
      0,
    )
    await Promise.all(warm.map((f) => f.close()))
    await new Promise((r) => setTimeout(r, 500))
    const empty = await server.stats()
    // The server holds its own descriptors beside one per socket; the hard limit bounds the sum.
    const room = server.fileLimit - empty.fds - FD_RESERVE
    const target = Math.min(N, room)
    const limitNote =
      target < N
        ? `${kind} server's file limit ${server.fileLimit} (hard; ulimit -Hn, not raisable here) with ${empty.fds} descriptors already open leaves room for ${room}`
        : ''
    if (limitNote) console.log(`  ${limitNote}: holding ${target} of ${N}`)
    const t0 = nowMs()
    fleets = await spawnFleets(target, PER_FLEET, (_from, count, i) => ({
      url: server.url,
      count,
      tokens: server.tokens,
      prefix: `idle-${kind}-${i}`,
      wave: 250,
      cursors: Array.from({ length: count }, () => null),
    }))
    const connected = sumConnected(await Promise.all(fleets.map((f) => f.connect())))
    const connectMs = nowMs() - t0
    console.log(
      `  ${kind}: ${connected.caughtUp} of ${target} clients connected and caught up in ${Math.round(connectMs)} ms (${connected.failed} failed, ${connected.retries} retries)${connected.errors.length ? `: ${connected.errors.join('; ')}` : ''}`,
    )
    // Idle: the heartbeat and the re-check run; the event loop and healthz are watched.
    await new Promise((r) => setTimeout(r, 1000))
    server.resetEld()
    const health = await probeHealth(server.url, IDLE_WINDOW_MS)
    const idle = await server.stats()
    // Sockets held: the descriptors opened since the empty measurement (the same count for both
    // servers), beside the server's own count of open connections.
    const held = idle.fds - empty.fds
    console.log(`  ${kind}: ${held} descriptors held open after the idle window (server's own count: ${idle.sockets})`)
    return {
      held,
      rssKB: (idle.rss - empty.rss) / 1024 / Math.max(1, held),
      heapKB: (idle.heapUsed + idle.external - empty.heapUsed - empty.external) / 1024 / Math.max(1, held),
      eldP99: idle.eld.p99,
      eldMax: idle.eld.max,
      healthP50: percentile(health, 50),
      healthP99: percentile(health, 99),
      connectMs,
      failed: connected.failed,
      retries: connected.retries,
      limitNote,
    }
  } finally {
    await Promise.all(fleets.map((f) => f.close()))
    await server.close()
  }
}

async function main(): Promise<void> {
  console.log(
    `Idle sockets: ${N.toLocaleString('en-US')} clients over child processes of ${PER_FLEET}; heartbeat ${HEARTBEAT_MS / 1000} s, re-check ${RECHECK_MS / 1000} s, idle window ${IDLE_WINDOW_MS / 1000} s${QUICK ? ' (quick)' : ''}`,
  )
  const bare = await measure('bare')
  const pulse = await measure('pulse')
  const row = (name: string, m: Measured) => ({
    server: name,
    'sockets held': m.held,
    'connect ms': Math.round(m.connectMs),
    'failed/retries': `${m.failed}/${m.retries}`,
    'RSS KB/socket': m.rssKB.toFixed(1),
    'heap+external KB/socket': m.heapKB.toFixed(1),
    'event-loop delay p99 ms': m.eldP99.toFixed(1),
    'max ms': m.eldMax.toFixed(1),
    'healthz p50 ms': m.healthP50.toFixed(2),
    'healthz p99 ms': m.healthP99.toFixed(2),
  })
  printTable('Idle sockets on one process', [row('bare ws loop', bare), row('Pulse (SQLite, accounts on)', pulse)])
  const note = `${N.toLocaleString('en-US')} asked${pulse.limitNote ? `; ${pulse.limitNote}` : ''}`
  report({
    path: 'idle authenticated sockets held on one process',
    figure: pulse.held,
    unit: 'sockets',
    better: 'higher',
    aim: AIM_SOCKETS,
    baselineName: 'bare ws loop',
    baseline: bare.held,
    note,
  })
  report({
    path: 'memory per idle socket (RSS)',
    figure: pulse.rssKB,
    unit: 'KB',
    better: 'lower',
    aim: AIM_KB,
    baselineName: 'bare ws loop',
    baseline: bare.rssKB,
    note: `${pulse.held} sockets`,
  })
  report({
    path: 'memory per idle socket (heap + external)',
    figure: pulse.heapKB,
    unit: 'KB',
    better: 'lower',
    baselineName: 'bare ws loop',
    baseline: bare.heapKB,
  })
  report({
    path: `event-loop delay p99, idle, heartbeat ${HEARTBEAT_MS / 1000} s`,
    figure: pulse.eldP99,
    unit: 'ms',
    better: 'lower',
    baselineName: 'bare ws loop',
    baseline: bare.eldP99,
    note: `${pulse.held} sockets, re-check every ${RECHECK_MS / 1000} s`,
  })
  report({
    path: 'healthz p99, idle sockets',
    figure: pulse.healthP99,
    unit: 'ms',
    better: 'lower',
    baselineName: 'bare ws loop',
    baseline: bare.healthP99,
  })
}

await main()
