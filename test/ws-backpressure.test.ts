/**
 * WebSocket backpressure (PROTOCOL.md §6): catch-up pages wait for the socket's send buffer to
 * drain, so a client that stops reading makes the server hold about one page for it, not the
 * whole catch-up; and a client that keeps asking while it never reads is dropped once its
 * unsent bytes pass the cap. Bounds are asserted on the server's own send buffers.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import { createSqliteStorage, type RunningServer, systemContext } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { startTestServer } from './support/server.ts'
import { connectWs, helloAndCatchUp, type WsClient } from './support/ws-client.ts'

const blob = defineModel('blob', { fields: { n: f.integer(), body: f.text({ default: '' }) } })
const schema = defineSchema([blob])
const PAGE_BYTES = 256 * 1024
const DRAIN_BYTES = 256 * 1024
const SOCKET_CAP_BYTES = 1024 * 1024
/** 24 MB of records: far more than the loopback's kernel buffers hold. */
const RECORDS = 240
const RECORD_BYTES = 100_000

/** The server side of every open socket. */
function serverSockets(server: RunningServer): WebSocket[] {
  return [...(server.app.websocketServer.clients as Set<WebSocket>)]
}

/** Waits until no server socket's send buffer changed for a while (or 10 s), and returns the largest. */
async function settledBuffered(server: RunningServer): Promise<number> {
  let last = -1
  let stableSince = Date.now()
  const deadline = Date.now() + 10_000
  for (;;) {
    const now = Math.max(0, ...serverSockets(server).map((s) => s.bufferedAmount))
    if (now !== last) {
      last = now
      stableSince = Date.now()
    } else if (Date.now() - stableSince > 750 || Date.now() > deadline) return now
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('WebSocket backpressure', () => {
  let server: RunningServer

  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-bp-')), 'pulse.db') })
    server = await startTestServer(schema, storage, {
      maxPageBytes: PAGE_BYTES,
      realtime: { maxBufferedBytes: DRAIN_BYTES, maxSocketBufferBytes: SOCKET_CAP_BYTES, heartbeatIntervalMs: 600_000 },
    })
    for (let i = 0; i < RECORDS; i += 20) {
      const ops = Array.from({ length: 20 }, (_, j) => ({
        op: 'create' as const,
        model: 'blob',
        data: { n: i + j, body: 'x'.repeat(RECORD_BYTES) },
      }))
      const { outcomes } = await server.engine.write(systemContext(), ops, { atomic: true })
      expect(outcomes.every((o) => o.ok)).toBe(true)
    }
  }, 60_000)
  afterAll(async () => {
    await server?.close()
  })

  it('paces catch-up by the send buffer: a client that stops reading holds one page on the server', async () => {
    const client = await connectWs(server.url)
    try {
      client.ws.pause() // reads nothing from here on
      client.send({ type: 'hello', clientId: 'dev-slow', cursor: null })
      const held = await settledBuffered(server)
      // The drain threshold plus one page (the estimate's slack included); not 24 MB.
      expect(held).toBeLessThanOrEqual(DRAIN_BYTES + PAGE_BYTES * 1.2 + RECORD_BYTES)
      client.ws.resume()
      const seen: number[] = []
      for (;;) {
        const page = await client.nextOf('changes', 20_000)
        seen.push(...page.changes.map((c) => (c.record as unknown as { n: number }).n))
        if (!page.hasMore) break
      }
      expect(seen).toEqual(Array.from({ length: RECORDS }, (_, i) => i))
    } finally {
      client.close()
    }
  }, 60_000)

  it('drops a client that keeps asking but never reads, once its unsent bytes pass the cap', async () => {
    const bystander = await connectWs(server.url)
    const greedy: WsClient = await connectWs(server.url)
    try {
      await helloAndCatchUp(bystander, { clientId: 'dev-bystander', cursor: null })
      greedy.send({ type: 'hello', clientId: 'dev-greedy', cursor: null })
      await greedy.nextOf('welcome')
      greedy.ws.pause()
      // Pushes that answer with every record they made: each reply is about 0.5 MB.
      for (let mid = 1; mid <= 80; mid++) {
        const mutations = Array.from({ length: 200 }, (_, i) => ({
          mid: mid * 1000 + i,
          model: 'blob',
          op: 'create',
          id: uuidv7(),
          vclock: { 'dev-greedy': mid * 1000 + i },
          at: new Date().toISOString(),
          data: { n: -1, body: 'y'.repeat(2000) },
        }))
        greedy.send({ type: 'push', mutations })
        await new Promise((r) => setTimeout(r, 5))
      }
      expect(await settledBuffered(server)).toBeLessThanOrEqual(SOCKET_CAP_BYTES + 1024 * 1024)
      greedy.ws.resume()
      expect((await greedy.closed).code).toBe(1006) // dropped, without a close frame
      // The others are served as before.
      bystander.send({ type: 'ping' })
      await bystander.nextOf('pong')
    } finally {
      bystander.close()
      greedy.close()
    }
  }, 60_000)
})
