/**
 * The WebSocket endpoint `/ws` (PROTOCOL.md §6), a thin adapter: frames in, session; session
 * and hub out, frames. Owns what belongs to the socket: frame size (ws `maxPayload`, close
 * 1009), flood control (close 4429), the heartbeat, and error logging with the connection id.
 */
import { randomUUID } from 'node:crypto'
import websocket from '@fastify/websocket'
import { ERROR_CODES } from '@pulse/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WebSocket } from 'ws'
import type { Bus } from '../bus/bus.ts'
import { SYSTEM_ACTOR } from '../engine/context.ts'
import type { Engine } from '../engine/engine.ts'
import { createAccessWatch } from './access-watch.ts'
import { DEFAULT_HEARTBEAT_INTERVAL_MS, startHeartbeat } from './heartbeat.ts'
import { createHub, type Hub } from './hub.ts'
import { createTokenBucket, DEFAULT_RATE_LIMIT, type RateLimit } from './rate-limit.ts'
import { type Authenticate, createSession, DEFAULT_HELLO_TIMEOUT_MS } from './session.ts'
import { createTurns } from './turns.ts'

const TEXT_FRAME = Object.freeze({ binary: false })

/** Largest frame a client may send, unless configured otherwise. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

/** What `registerRealtime` takes. */
export interface RealtimeOptions {
  engine: Engine
  /** Where commits arrive from (this process's included). */
  bus: Bus
  /** Who a hello's token stands for. Default: the system actor, on the hello's device. */
  authenticate?: Authenticate
  /** Default 5 s. */
  helloTimeoutMs?: number
  /**
   * How often an open socket's credentials and scope are checked again (default 10 s), beside
   * the bus's access changes, which close the sockets concerned at once.
   */
  recheckIntervalMs?: number
  /** Largest client frame in bytes; larger ones close the socket with 1009. Default 1 MiB. */
  maxFrameBytes?: number
  /** Per-connection message rate; above it the socket is closed with 4429. */
  rateLimit?: RateLimit
  /** Default 30 s. */
  heartbeatIntervalMs?: number
  /** How long a commit waits for earlier ones before the hub pokes (default 100 ms). */
  gapWaitMs?: number
  /**
   * Send-buffer bytes above which a client is poked instead of sent live changes, and which a
   * catch-up or pull page waits to drain below before it is sent (default 1 MiB).
   */
  maxBufferedBytes?: number
  /** Unsent bytes past which a socket that is sent more is dropped (default 8 MiB). */
  maxSocketBufferBytes?: number
  /** A commit larger than this for one client is not sent live: the client is poked and pulls it in pages (default 4 MiB). */
  maxMessageBytes?: number
  /** Whether a browser page at `origin` may open a socket (default: any). Refused: HTTP 403, no upgrade. */
  allowOrigin?: (origin: string | undefined, host: string | undefined) => boolean
}

/** The TCP socket under a ws socket, while it has one. */
function rawSocket(socket: WebSocket): { cork(): void; uncork(): void } | undefined {
  return (socket as unknown as { _socket?: { cork(): void; uncork(): void } | null })._socket ?? undefined
}

/** The `authenticate` of a server without accounts (`auth: false`): full access, on the client's device. */
export const systemAuthenticate: Authenticate = async (_token, clientId) => ({ ...SYSTEM_ACTOR, deviceId: clientId })

function closeReason(reason: string): string {
  // A close reason is at most 123 bytes.
  return Buffer.byteLength(reason) <= 123 ? reason : reason.slice(0, 60)
}

/** Registers `/ws` and starts the hub; both stop when the app closes. Returns the hub. */
export async function registerRealtime(app: FastifyInstance, options: RealtimeOptions): Promise<Hub> {
  const { engine } = options
  const authenticate = options.authenticate ?? systemAuthenticate
  const helloTimeoutMs = options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT
  const onError = (err: unknown) => app.log.error({ err }, 'realtime: background failure')

  await app.register(websocket, {
    options: { maxPayload: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, perMessageDeflate: false },
    // Socket errors are logged by the connection's own listener; ws closes the socket itself
    // (1009 for an oversized frame), so only a socket still open is cut here.
    errorHandler: (_error, socket) => {
      if (socket.readyState === WebSocket.OPEN) socket.terminate()
    },
  })

  const hub = createHub({
    bus: options.bus,
    schema: engine.schema,
    onError,
    ...(options.gapWaitMs !== undefined ? { gapWaitMs: options.gapWaitMs } : {}),
    ...(options.maxBufferedBytes !== undefined ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
  })
  const heartbeat = startHeartbeat(options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, onError)
  // Access changes on the bus (memberships, logouts, revocations) close the sockets concerned.
  const watch = createAccessWatch(options.bus, onError)
  // One page read per event-loop turn over all sockets: catch-ups never starve other I/O.
  const turn = createTurns()
  app.addHook('onClose', async () => {
    heartbeat.stop()
    watch.close()
    hub.close()
  })

  const allowOrigin = options.allowOrigin ?? (() => true)
  const checkOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!allowOrigin(request.headers.origin, request.headers.host)) {
      return reply.code(403).send({ error: { code: 'forbidden', message: 'this origin may not open a socket' }, requestId: request.id })
    }
  }
  app.get('/ws', { websocket: true, preValidation: checkOrigin }, (socket, request) => {
    const id = randomUUID().slice(0, 8)
    const log = request.log.child({ connectionId: id })
    const bucket = createTokenBucket(rateLimit)
    const session = createSession({
      engine,
      hub,
      authenticate,
      watch,
      turn,
      helloTimeoutMs,
      ...(options.recheckIntervalMs !== undefined ? { recheckIntervalMs: options.recheckIntervalMs } : {}),
      ...(options.maxBufferedBytes !== undefined ? { drainBytes: options.maxBufferedBytes } : {}),
      ...(options.maxSocketBufferBytes !== undefined ? { maxSocketBufferBytes: options.maxSocketBufferBytes } : {}),
      log,
      requestId: request.id,
      transport: {
        id,
        get bufferedAmount() {
          return socket.bufferedAmount
        },
        sendRaw(payload) {
          if (socket.readyState !== WebSocket.OPEN) return
          // A Buffer goes out as a text frame without being re-encoded per recipient. No
          // callback: a failed write surfaces as the socket's 'error', logged below.
          socket.send(payload, TEXT_FRAME)
        },
        close(code, reason) {
          if (socket.readyState === WebSocket.OPEN) socket.close(code, closeReason(reason))
        },
        // The socket under ws (ws has no cork of its own): a turn's frames leave in one write.
        cork: () => rawSocket(socket)?.cork(),
        uncork: () => rawSocket(socket)?.uncork(),
        terminate: () => socket.terminate(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      },
    })
    const unwatch = heartbeat.watch(socket)

    let flooded = false
    socket.on('message', (data) => {
      if (flooded) return
      if (!bucket.take()) {
        flooded = true
        log.warn('closing a flooding connection')
        socket.close(ERROR_CODES.rate_limited.closeCode, 'rate limited')
        session.closed()
        return
      }
      // Binary frames are read as UTF-8 text too: the protocol has one JSON message per frame.
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      session.receive(bytes.toString('utf8'))
    })
    socket.on('error', (err) => log.warn({ err }, 'socket error'))
    socket.on('close', () => {
      unwatch()
      session.closed()
    })
  })
  return hub
}
