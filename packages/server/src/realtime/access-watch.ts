/**
 * Acting on access changes at once (issue 8, finding 12; PROTOCOL.md §6): the bus's control
 * channel says whose memberships changed, which device signed out, which API token was revoked;
 * every open socket of this process that the change concerns is told (`error scope_changed` or
 * `error unauthenticated`) and closed with 4401, so its client reconnects under the new state.
 * Lookups are by user and by token: a change costs the sockets it concerns, not every socket.
 */
import type { Bus } from '../bus/bus.ts'
import type { ControlMessage } from '../bus/control.ts'
import type { Actor } from '../engine/context.ts'

/** A socket as the watch sees it. */
export interface WatchedSocket {
  /** The actor its hello authenticated. */
  readonly actor: Actor
  /** The API token it authenticated with, if any. */
  readonly apiTokenId: string | undefined
  /** Ends the socket: its credential or its scope changed. Called at most once per change. */
  revoke(code: 'scope_changed' | 'unauthenticated', message: string): void
}

/** The registry of this process's open sockets, by who they are. */
export interface AccessWatch {
  /** Watches a socket until the returned function is called. */
  add(socket: WatchedSocket): () => void
  /** Stops listening to the bus. */
  close(): void
}

function addTo(index: Map<string, Set<WatchedSocket>>, key: string, socket: WatchedSocket): void {
  const set = index.get(key) ?? new Set<WatchedSocket>()
  set.add(socket)
  index.set(key, set)
}

function removeFrom(index: Map<string, Set<WatchedSocket>>, key: string, socket: WatchedSocket): void {
  const set = index.get(key)
  if (!set) return
  set.delete(socket)
  if (set.size === 0) index.delete(key)
}

/** Subscribes to `bus`'s control channel and revokes the sockets each message concerns. */
export function createAccessWatch(bus: Bus, onError: (error: unknown) => void): AccessWatch {
  const byUser = new Map<string, Set<WatchedSocket>>()
  const byToken = new Map<string, Set<WatchedSocket>>()

  function revokeAll(sockets: Iterable<WatchedSocket>, code: 'scope_changed' | 'unauthenticated', message: string): void {
    // A copy: revoking removes the socket from the index being read.
    for (const socket of [...sockets]) {
      try {
        socket.revoke(code, message)
      } catch (e) {
        onError(e)
      }
    }
  }

  function handle(message: ControlMessage): void {
    switch (message.type) {
      case 'membership_changed':
        for (const userId of message.userIds) {
          const sockets = byUser.get(userId)
          if (sockets) revokeAll(sockets, 'scope_changed', 'your organizations changed: reconnect and pull from no cursor')
        }
        return
      case 'session_ended': {
        const sockets = [...(byUser.get(message.userId) ?? [])].filter((s) => s.actor.deviceId === message.deviceId)
        revokeAll(sockets, 'unauthenticated', 'this device was signed out: log in again')
        return
      }
      case 'api_token_revoked': {
        const sockets = byToken.get(message.tokenId)
        if (sockets) revokeAll(sockets, 'unauthenticated', 'the API token was revoked')
        return
      }
    }
  }

  const unsubscribe = bus.subscribeControl(handle)
  return {
    add(socket) {
      const userId = socket.actor.userId
      const tokenId = socket.apiTokenId
      if (userId) addTo(byUser, userId, socket)
      if (tokenId) addTo(byToken, tokenId, socket)
      return () => {
        if (userId) removeFrom(byUser, userId, socket)
        if (tokenId) removeFrom(byToken, tokenId, socket)
      }
    },
    close() {
      unsubscribe()
      byUser.clear()
      byToken.clear()
    },
  }
}
