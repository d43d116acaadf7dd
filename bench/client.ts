/**
 * Client SDK figures (issue 4), against a real server on SQLite:
 * - local write latency: an update applied in memory (what the UI sees at once) and stored
 *   durably (the outbox entry with it), per store;
 * - live-query update latency: from a write on one client to the listener of a live query on
 *   another, over the WebSocket;
 * - initial sync: a fresh client taking in N records, per store, over the socket (catch-up
 *   pages of 500) and over HTTP (pages of 5,000).
 *
 *   node --import tsx bench/client.ts [N] [WRITES]
 */
import {
  type Client,
  createClient,
  createIndexedDbStore,
  createMemoryStore,
  type LocalStore,
  type WebSocketConstructor,
} from '@pulse/client'
import { createSqliteStore } from '@pulse/client/sqlite'
import { defineModel, defineSchema, f } from '@pulse/core'
import { createSqliteStorage, type RunningServer, startServer, systemContext } from '@pulse/server'
import { IDBFactory } from 'fake-indexeddb'
import WebSocket from 'ws'
import { nowMs, percentile, printTable, report, sized, tempSqlite } from './support.ts'

const N = Number(process.argv[2] ?? 10_000)
const WRITES = Number(process.argv[3] ?? 2000)
const LIVE_SAMPLES = 100
/** Live-query updates before the measured ones, not counted: the JIT warms up. */
const LIVE_WARM = sized(100, 50)

const note = defineModel('note', {
  fields: {
    title: f.string({ max: 200 }),
    body: f.text({ default: '' }),
    priority: f.integer({ default: 0 }),
    tags: f.set({ default: [] }),
    done: f.boolean({ default: false }),
  },
})
const models = [note]

const STORES: Record<string, () => LocalStore> = {
  memory: () => createMemoryStore(),
  sqlite: () => createSqliteStore(tempSqlite('client')),
  'indexeddb (fake)': () => createIndexedDbStore('bench', { indexedDB: new IDBFactory() }),
}

function client(server: RunningServer, store: LocalStore, extra: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  return createClient({
    url: server.url,
    models,
    store,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onError: (e) => console.error('client error', e),
    ...extra,
  })
}

const ms = (x: number) => x.toFixed(x < 1 ? 3 : 1)

async function writeLatency(server: RunningServer): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = []
  for (const [name, make] of Object.entries(STORES)) {
    const c = client(server, make(), { autoSync: false })
    const ids: string[] = []
    for (let i = 0; i < 100; i++) ids.push((await c.create(note, { title: `w${i}` })).id)
    const applied: number[] = []
    const durable: number[] = []
    for (let i = 0; i < WRITES; i++) {
      const t0 = nowMs()
      const p = c.update(note, ids[i % ids.length] as string, { title: `write ${i}`, priority: i % 7 })
      applied.push(nowMs() - t0)
      await p
      durable.push(nowMs() - t0)
    }
    rows.push({
      store: name,
      writes: WRITES,
      'applied p50 ms': ms(percentile(applied, 50)),
      'applied p99 ms': ms(percentile(applied, 99)),
      'stored p50 ms': ms(percentile(durable, 50)),
      'stored p99 ms': ms(percentile(durable, 99)),
      'outbox after': c.outbox().length,
    })
    await c.close()
  }
  return rows
}

async function liveLatency(server: RunningServer, pushDebounceMs: number): Promise<Record<string, string | number>> {
  const reader = client(server, createMemoryStore())
  const writer = client(server, createMemoryStore(), { timings: { pushDebounceMs } })
  const seed = await writer.create(note, { title: 'live', priority: 1 })
  const live = reader.live(note, { where: { title: { gte: 'live' } }, orderBy: 'priority' })
  let waiting: ((t: number) => void) | undefined
  live.subscribe(() => {
    if (live.getSnapshot()?.some((r) => r.id === seed.id && r.priority === expected)) waiting?.(nowMs())
  })
  let expected = 1
  while (!live.getSnapshot()?.some((r) => r.id === seed.id)) await new Promise((r) => setTimeout(r, 5))
  const samples: number[] = []
  for (let i = 0; i < LIVE_WARM + LIVE_SAMPLES; i++) {
    // Writes spaced out, each on its own: while a push is under way, a new write joins the
    // running push loop and skips the debounce, which would flatter the figure.
    await new Promise((r) => setTimeout(r, 40))
    expected = i + 2
    const arrived = new Promise<number>((resolve) => {
      waiting = resolve
    })
    const t0 = nowMs()
    await writer.update(note, seed.id, { priority: expected })
    const took = (await arrived) - t0
    if (i >= LIVE_WARM) samples.push(took)
  }
  await reader.close()
  await writer.close()
  console.log(`  warm-up (not measured): ${LIVE_WARM} live-query updates before the ${LIVE_SAMPLES} measured`)
  report({
    path: `live-query update after a remote change (push debounce ${pushDebounceMs} ms), p50`,
    figure: percentile(samples, 50),
    unit: 'ms',
    better: 'lower',
    ...(pushDebounceMs === 0 ? { aim: 5 } : {}),
    baselineName: 'ws-relay-2-p50',
  })
  return {
    path: `write on A → push (debounce ${pushDebounceMs} ms) → server → live message → B’s live query`,
    samples: LIVE_SAMPLES,
    'p50 ms': ms(percentile(samples, 50)),
    'p99 ms': ms(percentile(samples, 99)),
  }
}

async function initialSync(server: RunningServer): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = []
  // One run first, not counted: the JIT warms up on the apply path.
  const warm = client(server, createMemoryStore(), { autoSync: false, WebSocket: null })
  await warm.sync()
  await warm.close()
  for (const [name, make] of Object.entries(STORES)) {
    for (const transport of ['websocket', 'http'] as const) {
      const t0 = nowMs()
      const c =
        transport === 'websocket'
          ? client(server, make())
          : client(server, make(), { autoSync: false, WebSocket: null, timings: { pullLimit: 5000 } })
      if (transport === 'websocket') {
        const live = c.live(note, {})
        await new Promise<void>((resolve) => {
          const check = () => {
            if ((live.getSnapshot()?.length ?? 0) >= N) resolve()
          }
          live.subscribe(check)
          check()
        })
      }
      const inMemory = nowMs() - t0
      await c.sync() // HTTP: the whole sync; socket: waits for the store to have every page
      const stored = nowMs() - t0
      const count = (await c.query(note)).length
      rows.push({
        store: name,
        transport,
        records: count,
        'visible ms': transport === 'websocket' ? Math.round(inMemory) : '-',
        'stored ms': Math.round(stored),
        'records/s': Math.round((count / stored) * 1000).toLocaleString('en-US'),
      })
      await c.close()
    }
  }
  return rows
}

async function main(): Promise<void> {
  const server = await startServer({
    schema: defineSchema(models),
    database: await createSqliteStorage({ filename: tempSqlite('client-server') }),
    port: 0,
    logger: false,
    auth: false,
  })
  try {
    printTable(`Local write latency (${WRITES} updates, no server involved)`, await writeLatency(server))
    printTable('Live-query update latency after a remote change (WebSocket)', [await liveLatency(server, 20), await liveLatency(server, 0)])
    const ops = Array.from({ length: N }, (_, i) => ({
      op: 'create' as const,
      model: 'note',
      data: { title: `record ${i}`, body: 'x'.repeat(80), priority: i % 5, tags: ['a', 'b'] },
    }))
    await server.engine.write(systemContext(), ops, { atomic: true })
    printTable(
      `Initial sync of ${N.toLocaleString('en-US')} records into each store (server on SQLite, same machine)`,
      await initialSync(server),
    )
  } finally {
    await server.close()
  }
}

await main()
