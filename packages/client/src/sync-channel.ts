/**
 * One way to the server, as the sync loop sees it: push a batch, pull one page. Over HTTP a
 * page is a `GET /api/sync/pull` applied here; over the socket, pages arrive as messages
 * (applied by the socket handlers) and a pull only asks for them.
 */
import type { Mutation, PushResponse } from '@pulse/core'
import type { AbortSignalLike } from './platform.ts'
import type { Replica } from './replica.ts'
import { applyPage } from './server-apply.ts'
import type { HttpApi } from './transports/http-api.ts'
import type { SocketSession } from './transports/socket-session.ts'

/** A connected way to the server. */
export interface SyncChannel {
  readonly kind: 'websocket' | 'http'
  /** Sends mutations; resolves with the server's answer. */
  push(mutations: Mutation[], signal?: AbortSignalLike): Promise<PushResponse>
  /** Pulls one page from the replica's cursor and applies it; resolves with whether more pages wait. */
  pullPage(signal?: AbortSignalLike): Promise<boolean>
}

/** The HTTP channel: pages of `limit` changes of the client's models. */
export function httpChannel(http: HttpApi, replica: Replica, limit: number, models: readonly string[]): SyncChannel {
  return {
    kind: 'http',
    push: (mutations, signal) => http.push({ clientId: replica.clientId, mutations }, signal),
    async pullPage(signal) {
      const page = await http.pull({ cursor: replica.cursor, limit, models }, signal)
      // Persistence runs behind: the write queue keeps order and merges pages while it works.
      applyPage(replica, page).catch(() => {})
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
