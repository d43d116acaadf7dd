/**
 * How long a connection may take and how many one address may hold: a client that sends its
 * request slowly, or opens connections and sends nothing, cannot hold the server's sockets
 * forever. Node's HTTP server enforces the timeouts; the per-address cap is counted here.
 */
import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { ERROR_CODES } from '@pulse/core'

/** Timeouts of the HTTP server, in milliseconds; 0 turns one off. */
export interface HttpTimeouts {
  /** The whole request (headers and body) must arrive within this (default 30 s); else 408. */
  requestMs?: number
  /** The headers must arrive within this (default 10 s, at most `requestMs`); else 408. */
  headersMs?: number
  /** A connection with nothing sent or received for this long is closed (default 60 s). */
  idleMs?: number
  /** How long a kept-alive connection waits for its next request (default 72 s, above common load balancers' 60 s). */
  keepAliveMs?: number
}

/** The defaults of `HttpTimeouts`. */
export const DEFAULT_HTTP_TIMEOUTS: Readonly<Required<HttpTimeouts>> = Object.freeze({
  requestMs: 30_000,
  headersMs: 10_000,
  idleMs: 60_000,
  keepAliveMs: 72_000,
})

/** Connections one address may hold open at once, unless configured otherwise. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256

/** The fastify options that set the timeouts (Node checks pending requests every second or so). */
export function timeoutOptions(given: HttpTimeouts = {}): {
  requestTimeout: number
  connectionTimeout: number
  keepAliveTimeout: number
  http: { headersTimeout: number; connectionsCheckingInterval: number }
} {
  const t = { ...DEFAULT_HTTP_TIMEOUTS, ...given }
  // Node refuses a headers timeout longer than the request timeout.
  const headersMs = t.requestMs > 0 && t.headersMs > t.requestMs ? t.requestMs : t.headersMs
  const shortest = Math.min(...[t.requestMs, headersMs].filter((ms) => ms > 0), 4_000)
  return {
    requestTimeout: t.requestMs,
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    http: { headersTimeout: headersMs, connectionsCheckingInterval: Math.max(50, Math.floor(shortest / 4)) },
  }
}

/**
 * Answers a request that timed out or could not be parsed, straight on the socket (no request
 * was made of it): 408 for a timeout, 400 otherwise, with a §7 body, then closes.
 */
export function answerClientError(error: { code?: unknown }, socket: Socket): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT'
  const code = timeout ? 'request_timeout' : 'bad_request'
  const message = timeout ? 'the request did not arrive in time' : 'the request is malformed'
  const requestId = randomUUID()
  const body = JSON.stringify({ error: { code, message }, requestId })
  const status = ERROR_CODES[code].status
  socket.end(
    `HTTP/1.1 ${status} ${timeout ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/**
 * Closes, before reading a byte, every connection past `max` from one address (0: no cap).
 * Behind a proxy every client shares the proxy's address: raise or lift the cap there.
 */
export function limitConnectionsPerAddress(server: Server, max: number): void {
  if (max <= 0) return
  const open = new Map<string, number>()
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const count = open.get(address) ?? 0
    if (count >= max) {
      socket.destroy()
      return
    }
    open.set(address, count + 1)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
