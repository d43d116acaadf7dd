/**
 * Acting on access changes at once (PROTOCOL.md §6): the bus's control
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
  /**
   * Watches a socket until the returned function is called. A change announced since `since`
   * (ms, when its credential began to be read) that concerns it revokes it at once: it may
   * describe a state its hello did not see.
   */
  add(socket: WatchedSocket, since?: number): () => void
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

/** How long, and how many, recent changes are kept for sockets still authenticating. */
const RECENT_MS = 10_000
const MAX_RECENT = 1000

/** Why a message ends a socket, or undefined when it does not concern it. */
function verdict(message: ControlMessage, socket: WatchedSocket): { code: 'scope_changed' | 'unauthenticated'; text: string } | undefined {
  const userId = socket.actor.userId
  switch (message.type) {
    case 'membership_changed': {
      const i = userId ? message.userIds.indexOf(userId) : -1
      if (i < 0) return undefined
      // A socket that authenticated at the epoch after the change (or later) already has its scope.
      const after = message.epochs?.[i]
      const seen = socket.actor.scopeEpoch
      if (after !== undefined && seen !== undefined && seen >= after) return undefined
      return { code: 'scope_changed', text: 'your organizations changed: reconnect and pull from no cursor' }
    }
    case 'session_ended':
      return userId === message.userId && socket.actor.deviceId === message.deviceId
        ? { code: 'unauthenticated', text: 'this device was signed out: log in again' }
        : undefined
    case 'api_token_revoked':
      return socket.apiTokenId === message.tokenId ? { code: 'unauthenticated', text: 'the API token was revoked' } : undefined
  }
}

/** Subscribes to `bus`'s control channel and revokes the sockets each message concerns. */
export function createAccessWatch(bus: Bus, onError: (error: unknown) => void, now: () => number = Date.now): AccessWatch {
  const byUser = new Map<string, Set<WatchedSocket>>()
  const byToken = new Map<string, Set<WatchedSocket>>()
  // Changes of the last few seconds, oldest first, for sockets whose hello was under way.
  const recent: { at: number; message: ControlMessage }[] = []

  /** Revokes each socket the message concerns; true when it concerned one. */
  function apply(message: ControlMessage, sockets: Iterable<WatchedSocket>): boolean {
    let hit = false
    // A copy: revoking removes the socket from the index being read.
    for (const socket of [...sockets]) {
      const why = verdict(message, socket)
      if (!why) continue
      hit = true
      try {
        socket.revoke(why.code, why.text)
      } catch (e) {
        onError(e)
      }
    }
    return hit
  }

  function handle(message: ControlMessage): void {
    const at = now()
    recent.push({ at, message })
    while (recent.length > MAX_RECENT || (recent[0] && recent[0].at < at - RECENT_MS)) recent.shift()
    if (message.type === 'api_token_revoked') apply(message, byToken.get(message.tokenId) ?? [])
    else if (message.type === 'session_ended') apply(message, byUser.get(message.userId) ?? [])
    else for (const userId of message.userIds) apply(message, byUser.get(userId) ?? [])
  }

  const unsubscribe = bus.subscribeControl(handle)
  return {
    add(socket, since) {
      if (since !== undefined) for (const r of recent) if (r.at >= since && apply(r.message, [socket])) return () => {}
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
