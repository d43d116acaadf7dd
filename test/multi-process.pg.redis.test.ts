/**
 * Two real `pulse serve` processes on one PostgreSQL database and one Redis (ARCHITECTURE.md,
 * production): a WebSocket client of one process sees what is written through the other, in
 * commit order.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { decodeCursor } from '@pulse/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from './support/server.ts'
import { pgAvailable, pgUrl, redisAvailable, redisUrl } from './support/services.ts'
import { connectWs, helloAndCatchUp, type MessageOf, type WsClient } from './support/ws-client.ts'

const ready = (await pgAvailable()) && (await redisAvailable())
const root = fileURLToPath(new URL('..', import.meta.url))

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

interface Process {
  child: ChildProcess
  url: string
  output: string[]
}

async function serve(database: string): Promise<Process> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      'packages/cli/bin/pulse.js',
      'serve',
      '--port',
      String(port),
      '--database',
      database,
      '--redis',
      redisUrl(),
      '--config',
      'examples/tasks/pulse.config.ts',
    ],
    { cwd: root, env: { ...process.env, DATABASE_URL: database, REDIS_URL: redisUrl() }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const output: string[] = []
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  const url = `http://127.0.0.1:${port}`
  const end = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pulse serve exited with ${child.exitCode}: ${output.join('')}`)
    try {
      if ((await fetch(`${url}/api/v1/healthz`)).ok) return { child, url, output }
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`pulse serve did not start: ${output.join('')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function stop(p: Process): Promise<void> {
  if (p.child.exitCode !== null) return
  const exited = new Promise((r) => p.child.once('exit', r))
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

const isChanges = (m: { type: string }) => m.type === 'changes'
const titleOf = (m: MessageOf<'changes'>) => m.changes.map((c) => (c.record as { title?: string }).title)

describe.skipIf(!ready)('two pulse serve processes over PostgreSQL and Redis', () => {
  const dbName = `pulse_mp_${process.pid}_${Date.now().toString(36)}`
  const processes: Process[] = []
  const clients: WsClient[] = []
  let a: Process
  let b: Process

  async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: pgUrl() })
    await client.connect()
    try {
      return await fn(client)
    } finally {
      await client.end()
    }
  }

  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE "${dbName}"`))
    const url = new URL(pgUrl())
    url.pathname = `/${dbName}`
    // One at a time: the first migrates, the second finds the tables in place.
    a = await serve(url.toString())
    processes.push(a)
    b = await serve(url.toString())
    processes.push(b)
  }, 60_000)

  afterAll(async () => {
    for (const c of clients) c.close()
    await Promise.all(processes.map(stop))
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`))
  }, 30_000)

  it('a client of A receives, live and in commit order, what is written through B (and A)', async () => {
    const onA = await connectWs(a.url)
    const onB = await connectWs(b.url)
    clients.push(onA, onB)
    await helloAndCatchUp(onA, { clientId: 'dev-on-a' })
    await helloAndCatchUp(onB, { clientId: 'dev-on-b' })

    const viaB = httpClient(b.url)
    const viaA = httpClient(a.url)
    const created = await viaB.post('/api/tasks', { title: 'written through B' })
    expect(created.status).toBe(201)
    const first = (await onA.next(isChanges, 10_000)) as MessageOf<'changes'>
    expect(titleOf(first)).toEqual(['written through B'])
    expect(first.changes[0]?.record.id).toBe(created.json.id)

    // Alternate processes, concurrently: every client still sees every commit, in position order.
    const titles = Array.from({ length: 20 }, (_, i) => `t${i}`)
    await Promise.all(titles.map((title, i) => (i % 2 === 0 ? viaA : viaB).post('/api/tasks', { title })))
    for (const client of [onA, onB]) {
      const seen: string[] = []
      const positions: number[] = []
      if (client === onB) {
        const m = (await client.next(isChanges, 10_000)) as MessageOf<'changes'>
        expect(titleOf(m)).toEqual(['written through B'])
      }
      while (seen.length < titles.length) {
        const m = (await client.next((x) => x.type === 'changes' || x.type === 'poke', 10_000)) as MessageOf<'changes'> | { type: 'poke' }
        if (m.type === 'poke') throw new Error('poked: a commit went missing between the processes')
        seen.push(...(titleOf(m) as string[]))
        positions.push(decodeCursor(m.cursor))
      }
      expect([...seen].sort()).toEqual([...titles].sort())
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1] as number)
    }

    // A pull from the last live cursor finds nothing left: live and pull agree.
    const last = onA.messages.filter((m): m is MessageOf<'changes'> => m.type === 'changes').at(-1)
    const pulled = await viaA.get(`/api/sync/pull?cursor=${last?.cursor}`)
    expect(pulled.json.changes).toEqual([])
  })
})
