/**
 * A client cannot hold the server's connections forever (issue 8, finding 10): a body sent a
 * byte at a time, headers that never end, a connection that says nothing, and more connections
 * from one address than the cap. Raw TCP sockets, a real server with short timeouts; what is
 * asserted is what the client sees (a 408 with a §7 body, a closed socket), never how long.
 */
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, startTestServer } from './support/server.ts'
import { connectWs, helloAndCatchUp } from './support/ws-client.ts'

const note = defineModel('note', { fields: { text: f.string({ default: '' }) } })

interface RawConnection {
  socket: Socket
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>
}

async function open(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  let received = ''
  socket.on('data', (d) => {
    received += d.toString()
  })
  socket.on('error', () => {}) // a reset is a close like any other here
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return { socket, closed }
}

/** Writes `text` one character at a time, `everyMs` apart, until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer)
    socket.write(text[i++] as string)
  }, everyMs)
  socket.once('close', () => clearInterval(timer))
}

function bodyOf(response: string): Record<string, any> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))
}

describe('HTTP timeouts and the per-address connection cap', () => {
  let server: RunningServer
  let host: string

  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-limits-')), 'pulse.db') })
    server = await startTestServer(defineSchema([note]), storage, {
      timeouts: { requestMs: 1500, headersMs: 800, idleMs: 1000, keepAliveMs: 500 },
      maxConnectionsPerAddress: 4,
    })
    host = new URL(server.url).host
  })
  afterAll(async () => {
    await server?.close()
  })

  it('answers 408 with a §7 body to a body sent a byte at a time, and closes', async () => {
    const c = await open(server.url)
    const body = JSON.stringify({ text: 'x'.repeat(100_000) })
    c.socket.write(`POST /api/notes HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`)
    trickle(c.socket, body, 100)
    const response = await c.closed
    expect(response).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOf(response)).toMatchObject({ error: { code: 'request_timeout' }, requestId: expect.any(String) })
    expect((await httpClient(server.url).get('/api/notes')).json.items).toEqual([])
  })

  it('answers 408 to headers that never end', async () => {
    const c = await open(server.url)
    trickle(c.socket, `GET /api/notes HTTP/1.1\r\nhost: ${host}\r\nx-slow: ${'a'.repeat(10_000)}`, 100)
    const response = await c.closed
    expect(response).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOf(response).error.code).toBe('request_timeout')
  })

  it('closes a connection that says nothing, and an idle kept-alive one', async () => {
    const silent = await open(server.url)
    expect(await silent.closed).toMatch(/^$|^HTTP\/1\.1 408 /) // closed, or told its headers never came
    const kept = await open(server.url)
    kept.socket.write(`GET /api/v1/healthz HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n\r\n`)
    expect(await kept.closed).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('leaves WebSocket connections open past every HTTP timeout', async () => {
    const c = await connectWs(server.url)
    try {
      await helloAndCatchUp(c, { clientId: 'dev-long' })
      await new Promise((r) => setTimeout(r, 2500)) // longer than the request, idle and keep-alive timeouts
      c.send({ type: 'ping' })
      await c.nextOf('pong')
    } finally {
      c.close()
    }
  })

  it('closes connections past the cap of one address at once, and takes new ones when others close', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(server.url)))
    for (const c of held) c.socket.setKeepAlive(true)
    const extra = await open(server.url)
    extra.socket.write(`GET /api/v1/healthz HTTP/1.1\r\nhost: ${host}\r\n\r\n`)
    expect(await extra.closed).toBe('') // not served: closed before a byte was read
    held[0]?.socket.destroy()
    await held[0]?.closed
    const next = await open(server.url)
    next.socket.write(`GET /api/v1/healthz HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)
    expect(await next.closed).toMatch(/^HTTP\/1\.1 200 /)
    for (const c of held) c.socket.destroy()
  })
})

describe('a request arriving while the server closes', () => {
  it('gets a §7 503 shutting_down, while the one in flight finishes', async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-closing-')), 'pulse.db') })
    const server = await startTestServer(defineSchema([note]), storage)
    const host = new URL(server.url).host
    const c = await open(server.url)
    const body = JSON.stringify({ text: 'in flight' })
    c.socket.write(`POST /api/notes HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`)
    c.socket.write(body.slice(0, 5))
    await new Promise((r) => setTimeout(r, 300)) // its headers are read: the request is in flight
    const closing = server.close()
    // Closing has begun once the listener is gone (Fastify closes it after its preClose hooks).
    while (server.app.server.listening) await new Promise((r) => setTimeout(r, 10))
    // The rest of the body, and a second request pipelined behind it on the same connection.
    c.socket.write(`${body.slice(5)}GET /api/notes HTTP/1.1\r\nhost: ${host}\r\n\r\n`)
    const received = await c.closed
    await closing
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/)
    expect(first).toMatch(/^HTTP\/1\.1 201 /)
    expect(bodyOf(first as string)).toMatchObject({ text: 'in flight' })
    expect(second).toMatch(/^HTTP\/1\.1 503 /)
    expect(second).toMatch(/x-request-id: /i)
    expect(bodyOf(second as string)).toMatchObject({ error: { code: 'shutting_down' }, requestId: expect.any(String) })
  })
})
