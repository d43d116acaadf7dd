/**
 * The database going away under a running server (PostgreSQL through a TCP proxy we cut):
 * every request is answered 503 with a §7 body, nothing is half-written, the process lives,
 * and service resumes when the database is back.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { defineSchema } from '@pulse/core'
import { createPostgresStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { freePort } from './support/cli.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

/** A TCP proxy to PostgreSQL that can be cut and restored. */
function createProxy(port: number, target: URL) {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  return {
    async open(): Promise<void> {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => s.destroy())
        }
        client.pipe(upstream).pipe(client)
      })
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve))
    },
    async cut(): Promise<void> {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
      server = undefined
    },
  }
}

describe.skipIf(!pg)('the database going away (PostgreSQL)', () => {
  const schemas = usePgSchemas('unreach')
  let server: RunningServer
  let api: ReturnType<typeof httpClient>
  let proxy: ReturnType<typeof createProxy>

  beforeAll(async () => {
    const target = new URL(pgUrl())
    const port = await freePort()
    proxy = createProxy(port, target)
    await proxy.open()
    const via = new URL(pgUrl())
    via.hostname = '127.0.0.1'
    via.port = String(port)
    const storage = await createPostgresStorage({ connectionString: via.toString(), schema: schemas.next(), onError: () => {} })
    server = await startTestServer(defineSchema(config.models), storage)
    api = httpClient(server.url)
  })
  afterAll(async () => {
    await proxy?.cut()
    await server?.close().catch(() => {})
  })

  it('answers 503 with a §7 body while it is gone, and recovers', async () => {
    expect((await api.post('/api/items', { name: 'before', price: '1.00' })).status).toBe(201)
    const count = async () => (await api.get('/api/items?limit=1000')).json.items.length
    const before = await count()

    await proxy.cut()
    // Liveness does not touch the database; readiness proves a write and says why it failed.
    expect((await api.get('/api/v1/healthz')).status).toBe(200)
    const ready = await api.get('/api/v1/readyz')
    expect(ready.status).toBe(503)
    expect(ready.json.error.code).toBe('database_unavailable')
    expect(ready.json.lastWriteError.message).toEqual(expect.any(String))
    expect(ready.text).not.toMatch(/127\.0\.0\.1|at .*\.ts|SELECT|INSERT/)
    for (const res of [
      await api.post('/api/items', { name: 'lost?', price: '1.00' }),
      await api.get('/api/tasks'),
      await api.post('/api/sync/push', { clientId: 'd1', mutations: [] }),
    ]) {
      expect(res.status).toBe(503)
      expect(res.json.error.code).toBe('database_unavailable')
      expect(res.json.requestId).toEqual(expect.any(String))
      expect(res.text).not.toMatch(/ECONNREFUSED|at .*\.ts|SELECT|INSERT/)
    }

    await proxy.open()
    const deadline = Date.now() + 20_000
    // A real write that goes through makes the server ready again at once.
    while ((await api.post('/api/items', { name: 'after', price: '1.00' })).status !== 201) {
      if (Date.now() > deadline) throw new Error('did not recover')
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(await count()).toBe(before + 1)
    expect((await api.get('/api/v1/readyz')).status).toBe(200)
  })
})
