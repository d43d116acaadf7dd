/**
 * Flow control of one socket (PROTOCOL.md §6), both ways. Out: pages wait until the send
 * buffer is down to `drainBytes`, and a client whose unsent bytes pass `maxSocketBufferBytes`
 * when more is sent is dropped, so a client that stops reading costs the server at most one
 * page. In: when more than `MAX_BACKLOG_CHARS` of a client's messages wait to be handled, the
 * socket stops being read until the backlog is short again (counted in characters, so a flood
 * of small messages still meets the rate limit, close 4429).
 *
 * Frames sent in one turn go out together: the first send of a turn corks the socket and the
 * turn's end (a process tick) uncorks it, so the commits a hub dispatches in one turn, or a
 * push's answer and its own live change, cost one write to the socket, not one each.
 */

/** The socket, as flow control sees it. */
export interface FlowTransport {
  /** Bytes queued on the socket, not yet handed to the network. */
  readonly bufferedAmount: number
  /** Sends an encoded text message; does nothing once the socket is closing. */
  sendRaw(payload: Buffer | string): void
  /** Drops the connection at once, unsent bytes included (a consumer too slow to close politely). */
  terminate(): void
  /** Stops reading the client's frames; `resume` reads again. */
  pause(): void
  resume(): void
  /** Holds writes back until `uncork` (optional: a transport without it writes each at once). */
  cork?(): void
  uncork?(): void
}

/** What `createFlowControl` takes. */
export interface FlowControlOptions {
  /** Pages wait until at most this many bytes are unsent (default 1 MiB). */
  drainBytes?: number
  /** Unsent bytes past which the next send drops the connection (default 8 MiB). */
  maxSocketBufferBytes?: number
  /** False once the session ended: waiting stops, nothing more is sent. */
  isOpen(): boolean
  /** Called once when the connection is dropped for not reading. */
  onDrop(bufferedBytes: number): void
}

/** Flow control of one socket. */
export interface FlowControl {
  /** Sends, or drops the connection when too much already waits unsent. */
  send(payload: Buffer | string): void
  /** Resolves once the send buffer is down to `drainBytes`, or the session ended. */
  room(): Promise<void>
  /** A message arrived and waits to be handled. */
  received(chars: number): void
  /** A message was handled. */
  handled(chars: number): void
}

/** Default pacing threshold: the live stream's poke threshold (fan-out.ts). */
export const DEFAULT_DRAIN_BYTES = 1024 * 1024
/** Default send-buffer bytes past which a socket is dropped. */
export const DEFAULT_MAX_SOCKET_BUFFER_BYTES = 8 * 1024 * 1024
/** Characters of messages waiting to be handled past which the socket stops being read, and where it reads again. */
const MAX_BACKLOG_CHARS = 4 * 1024 * 1024
const RESUME_BACKLOG_CHARS = 1024 * 1024
/** Longest pause between two looks at a full send buffer (polled: ws has no drain event of its own). */
const MAX_DRAIN_POLL_MS = 250

/** Flow control over `transport`. */
export function createFlowControl(transport: FlowTransport, options: FlowControlOptions): FlowControl {
  const drainBytes = options.drainBytes ?? DEFAULT_DRAIN_BYTES
  const maxBuffered = options.maxSocketBufferBytes ?? DEFAULT_MAX_SOCKET_BUFFER_BYTES
  let backlog = 0
  let paused = false
  let dropped = false
  let corked = false
  const uncork = (): void => {
    corked = false
    transport.uncork?.()
  }

  return {
    send(payload) {
      if (dropped || !options.isOpen()) return
      if (transport.bufferedAmount > maxBuffered) {
        dropped = true
        const buffered = transport.bufferedAmount
        transport.terminate()
        options.onDrop(buffered)
        return
      }
      if (!corked && transport.cork) {
        corked = true
        transport.cork()
        process.nextTick(uncork)
      }
      transport.sendRaw(payload)
    },
    async room() {
      for (let waitMs = 5; options.isOpen() && transport.bufferedAmount > drainBytes; waitMs = Math.min(waitMs * 2, MAX_DRAIN_POLL_MS)) {
        await new Promise((resolve) => setTimeout(resolve, waitMs))
      }
    },
    received(chars) {
      backlog += chars
      if (backlog > MAX_BACKLOG_CHARS && !paused) {
        paused = true
        transport.pause()
      }
    },
    handled(chars) {
      backlog -= chars
      if (paused && backlog <= RESUME_BACKLOG_CHARS && options.isOpen()) {
        paused = false
        transport.resume()
      }
    },
  }
}
