/**
 * Two real `pulse serve` processes on one PostgreSQL database and one Redis (ARCHITECTURE.md,
 * production): a WebSocket client of one process sees what is written through the other, in
 * commit order.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeCursor } from '@pulse/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from './support/server.ts'
import { pgAvailable, pgUrl, redisAvailable, redisUrl } from './support/services.ts'
import { connectWs, helloAndCatchUp, type MessageOf, type WsClient } from './support/ws-client.ts'

const ready = (await pgAvailable()) && (await redisAvailable())
const root = fileURLToPath(new URL('..', import.meta.url))
// Both processes share one working directory (and so one development signing key) and one
// PULSE_SECRET: a token issued by one is good on the other.
const workDir = mkdtempSync(join(tmpdir(), 'pulse-mp-'))
const SECRET = 'multi-process test secret, long enough for HS256'

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
      join(root, 'packages/cli/bin/pulse.js'),
      'serve',
      '--port',
      String(port),
      '--database',
      database,
      '--redis',
      redisUrl(),
      '--config',
      join(root, 'examples/tasks/pulse.config.ts'),
    ],
    {
      cwd: workDir,
      env: { ...process.env, DATABASE_URL: database, REDIS_URL: redisUrl(), PULSE_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const output: string[] = []
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  const url = `http://127.0.0.1:${port}`
  const end = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pulse serve exited with ${child.exitCode}: ${output.join('')}`)
    try {
      // Any HTTP answer means it listens (the probe may want credentials).
      await fetch(`${url}/api/v1/healthz`)
      return { child, url, output }
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
const nameOf = (m: MessageOf<'changes'>) => m.changes.map((c) => (c.record as { name?: string }).name)

/**
 * A user's credentials (§9), when the servers have accounts: a device per process, each with
 * its access token. Without accounts (404 on register) every caller is the system.
 */
async function signIn(base: string, username: string): Promise<{ headers: Record<string, string>; token?: string; clientId: string }[]> {
  const http = httpClient(base)
  const registered = await http.post('/api/auth/register', { username, password: 'correct horse battery staple' })
  if (registered.status === 404)
    return [
      { headers: {}, clientId: 'dev-one' },
      { headers: {}, clientId: 'dev-two' },
    ]
  expect(registered.status).toBe(201)
  const sessions = []
  for (const deviceName of ['one', 'two']) {
    const login = await http.post('/api/auth/login', { username, password: 'correct horse battery staple', deviceName })
    expect(login.status).toBe(200)
    sessions.push({
      headers: { authorization: `Bearer ${login.json.access}` },
      token: login.json.access as string,
      clientId: login.json.device.id as string,
    })
  }
  return sessions
}

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
    const [one, two] = (await signIn(a.url, `mp_${process.pid}`)) as [
      Awaited<ReturnType<typeof signIn>>[number],
      Awaited<ReturnType<typeof signIn>>[number],
    ]
    const onA = await connectWs(a.url)
    const onB = await connectWs(b.url)
    clients.push(onA, onB)
    await helloAndCatchUp(onA, { clientId: one.clientId, ...(one.token ? { token: one.token } : {}) })
    await helloAndCatchUp(onB, { clientId: two.clientId, ...(two.token ? { token: two.token } : {}) })

    const viaB = httpClient(b.url)
    const viaA = httpClient(a.url)
    const created = await viaB.post('/api/items', { name: 'written through B', price: '1.00' }, one.headers)
    expect(created.status).toBe(201)
    const first = (await onA.next(isChanges, 10_000)) as MessageOf<'changes'>
    expect(nameOf(first)).toEqual(['written through B'])
    expect(first.changes[0]?.record.id).toBe(created.json.id)

    // Alternate processes, concurrently: every client still sees every commit, in position order.
    const names = Array.from({ length: 20 }, (_, i) => `n${i}`)
    const writes = await Promise.all(
      names.map((name, i) =>
        (i % 2 === 0 ? viaA : viaB).post('/api/items', { name, price: '1.00' }, i % 3 === 0 ? one.headers : two.headers),
      ),
    )
    expect(writes.map((w) => w.status)).toEqual(names.map(() => 201))
    for (const client of [onA, onB]) {
      const seen: string[] = []
      const positions: number[] = []
      if (client === onB) {
        const m = (await client.next(isChanges, 10_000)) as MessageOf<'changes'>
        expect(nameOf(m)).toEqual(['written through B'])
      }
      while (seen.length < names.length) {
        const m = (await client.next((x) => x.type === 'changes' || x.type === 'poke', 10_000)) as MessageOf<'changes'> | { type: 'poke' }
        if (m.type === 'poke') throw new Error('poked: a commit went missing between the processes')
        seen.push(...(nameOf(m) as string[]))
        positions.push(decodeCursor(m.cursor))
      }
      expect([...seen].sort()).toEqual([...names].sort())
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1] as number)
    }

    // A pull from the last live cursor finds nothing left: live and pull agree.
    const last = onA.messages.filter((m): m is MessageOf<'changes'> => m.type === 'changes').at(-1)
    const pulled = await viaA.get(`/api/sync/pull?cursor=${last?.cursor}`, one.headers)
    expect(pulled.json.changes).toEqual([])
  })
})
