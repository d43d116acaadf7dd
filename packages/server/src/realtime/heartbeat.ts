/**
 * Server-side heartbeat: a WebSocket ping to every socket each interval; a socket that has not
 * answered the previous ping by the next one is terminated (a half-open TCP connection would
 * otherwise hold its place in the hub forever).
 */

/** Default heartbeat interval. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000

/** The parts of a ws socket the heartbeat uses. */
export interface HeartbeatSocket {
  ping(): void
  terminate(): void
  on(event: 'pong', listener: () => void): unknown
}

/** A running heartbeat. */
export interface Heartbeat {
  /** Starts watching a socket; returns the function that stops watching it. */
  watch(socket: HeartbeatSocket): () => void
  stop(): void
}

/** Starts the heartbeat timer. `onError` hears about sockets that failed to ping. */
export function startHeartbeat(intervalMs: number, onError: (error: unknown) => void): Heartbeat {
  const alive = new Map<HeartbeatSocket, boolean>()
  const timer = setInterval(() => {
    for (const [socket, answered] of alive) {
      if (!answered) {
        alive.delete(socket)
        socket.terminate()
        continue
      }
      alive.set(socket, false)
      try {
        socket.ping()
      } catch (e) {
        onError(e)
      }
    }
  }, intervalMs)
  timer.unref()
  return {
    watch(socket) {
      alive.set(socket, true)
      socket.on('pong', () => {
        if (alive.has(socket)) alive.set(socket, true)
      })
      return () => {
        alive.delete(socket)
      }
    },
    stop() {
      clearInterval(timer)
      alive.clear()
    },
  }
}
