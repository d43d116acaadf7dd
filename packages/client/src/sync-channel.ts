/**
 * One way to the server, as the sync loop sees it: push a batch, pull one page. Over HTTP a
 * page is a `GET /api/sync/pull` applied here; over the socket, pages arrive as messages
 * (applied by the socket handlers) and a pull only asks for them.
 */
import { type Mutation, PROTOCOL_VERSION, type PushResponse } from '@pulse/core'
import type { AbortSignalLike, Clock, WebSocketConstructor } from './platform.ts'
import type { Replica } from './replica.ts'
import { applyPage } from './server-apply.ts'
import type { AuthProvider } from './transports/auth.ts'
import type { HttpApi } from './transports/http-api.ts'
import { openSocketSession, type SocketSession, type SocketSessionOptions } from './transports/socket-session.ts'

/** A connected way to the server. */
export interface SyncChannel {
  readonly kind: 'websocket' | 'http'
  /** Sends mutations; resolves with the server's answer. */
  push(mutations: Mutation[], signal?: AbortSignalLike): Promise<PushResponse>
  /** Pulls one page from the replica's cursor and applies it; resolves with whether more pages wait. */
  pullPage(signal?: AbortSignalLike): Promise<boolean>
}

/** The HTTP channel: pages of `limit` changes of the client's models; a page's persistence failure goes to `onError`. */
export function httpChannel(
  http: HttpApi,
  replica: Replica,
  options: { limit: number; models: readonly string[]; onError(error: unknown): void },
): SyncChannel {
  return {
    kind: 'http',
    push: (mutations, signal) => http.push({ clientId: replica.clientId, mutations }, signal),
    async pullPage(signal) {
      const page = await http.pull({ cursor: replica.cursor, limit: options.limit, models: options.models }, signal)
      // Persistence runs behind: the write queue keeps order and merges pages while it works.
      applyPage(replica, page).catch(options.onError)
      return page.hasMore
    },
  }
}

/** The WebSocket channel of an open session. */
export function socketChannel(session: SocketSession, replica: Replica): SyncChannel {
  return {
    kind: 'websocket',
    push: (mutations) => session.push(mutations),
    async pullPage() {
      const { hasMore } = await session.pull(replica.cursor)
      return hasMore
    },
  }
}

/** What `openSocketChannel` takes. */
export interface SocketChannelOptions {
  replica: Replica
  WebSocket: WebSocketConstructor
  url: string
  auth: AuthProvider | undefined
  timings: Pick<SocketSessionOptions, 'connectTimeoutMs' | 'pingIntervalMs' | 'deadAfterMs'>
  clock: Clock
  /** Aborting it gives up opening, or closes the socket. */
  signal: AbortSignalLike
  /** The server has changes past the cursor. */
  poke(): void
  /** An error message that answers no request, an unreadable frame, or a page that could not be stored. */
  error(error: unknown): void
  /** The socket closed (not by the client). */
  closed(error: unknown): void
}

/**
 * Opens a socket session for the replica (hello with its client id, cursor and models, §6) and
 * wires its messages into the replica. Resolves once the catch-up is over; rejects with a
 * NetworkError (unreachable) or a PulseError (refused).
 */
export async function openSocketChannel(options: SocketChannelOptions): Promise<{ session: SocketSession; channel: SyncChannel }> {
  const { replica } = options
  const credentials = await options.auth?.()
  const session = await openSocketSession(
    {
      url: options.url,
      WebSocket: options.WebSocket,
      hello: {
        clientId: replica.clientId,
        cursor: replica.cursor,
        models: [...replica.schema.models.keys()],
        schemaVersion: PROTOCOL_VERSION,
        ...(credentials?.token ? { token: credentials.token } : {}),
      },
      ...options.timings,
      clock: options.clock,
      signal: options.signal,
    },
    {
      changes: (page) => {
        applyPage(replica, page).catch(options.error)
      },
      poke: options.poke,
      error: options.error,
      closed: options.closed,
    },
  )
  return { session, channel: socketChannel(session, replica) }
}
