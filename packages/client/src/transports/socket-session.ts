/**
 * The sync protocol over a WebSocket (PROTOCOL.md §6). Opening sends `hello` and waits for
 * `welcome` and the end of the catch-up; then `pull` and `push` are requests, one at a time,
 * and `changes`, `poke` and stray `error`s go to handlers as they come. The server handles a
 * connection's messages in order, so a `ping` sent after a `pull` is answered after the pull's
 * last reply: its `pong` marks the end of the pull (live messages may interleave; each one
 * carries its cursor, so applying them as they come is always right).
 */
import {
  type ClientMessage,
  ERROR_CODES,
  type ErrorCode,
  type Mutation,
  type PullResponse,
  PulseError,
  type PushResponse,
  type ServerMessage,
} from '@pulse/core'
import { NetworkError, needsResync, serverError } from '../errors.ts'
import { type AbortSignalLike, after, type WebSocketConstructor, type WebSocketLike } from '../platform.ts'

/** The hello fields (§6), besides its type. */
export type Hello = Omit<Extract<ClientMessage, { type: 'hello' }>, 'type'>

/** What `openSocketSession` takes. */
export interface SocketSessionOptions {
  /** The socket URL, e.g. `wss://sync.example.com/ws`. */
  url: string
  WebSocket: WebSocketConstructor
  hello: Hello
  /** How long opening may take until `welcome`. */
  connectTimeoutMs: number
  /** A ping after this much silence; */
  pingIntervalMs: number
  /** and the connection counts as dead after this much more. */
  deadAfterMs: number
  /** Aborting it gives up opening (or closes the session). */
  signal?: AbortSignalLike
}

/** Where the session's unrequested messages go. */
export interface SocketHandlers {
  /** A page of changes: catch-up, live, or a pull's reply. */
  changes(page: PullResponse): void
  /** "Changes exist past your cursor; pull." */
  poke(): void
  /** A push answer nobody waits for any more (its request timed out): still worth applying. */
  strayPushResult(response: PushResponse): void
  /** An `error` message that answers no request. */
  error(error: PulseError): void
  /** The connection ended (not by `close()`): why. */
  closed(error: Error): void
}

/** An open, welcomed session. */
export interface SocketSession {
  /** The hello's cursor was refused (§2 cursor_expired, §8 scope_changed): pull from no cursor. */
  readonly resyncNeeded: boolean
  /** Pulls from `cursor`; resolves when the reply is in, saying whether more pages wait. */
  pull(cursor: string | null): Promise<{ hasMore: boolean }>
  /** Pushes mutations; resolves with the answer. */
  push(mutations: Mutation[]): Promise<PushResponse>
  /** Closes the socket; pending requests reject with a NetworkError. */
  close(): void
}

type Waiting =
  | { kind: 'pull'; hasMore: boolean; error?: PulseError; resolve(v: { hasMore: boolean }): void; reject(e: Error): void }
  | { kind: 'push'; resolve(v: PushResponse): void; reject(e: Error): void }

const OPEN = 1
const CLOSE_CODES: ReadonlyMap<number, ErrorCode> = new Map(
  Object.entries(ERROR_CODES).flatMap(([code, row]) => ('closeCode' in row ? [[row.closeCode, code as ErrorCode] as const] : [])),
)

/** The error a close code stands for (§6): a PulseError for Pulse's codes, a NetworkError otherwise. */
export function closeError(code: number, reason: string): Error {
  const pulseCode = CLOSE_CODES.get(code)
  if (pulseCode) return new PulseError(pulseCode, reason || `the server closed the socket (${code})`)
  return new NetworkError(`the socket closed (${code}${reason ? `: ${reason}` : ''})`)
}

/** Opens a socket, says hello, and resolves once the catch-up is over. */
export function openSocketSession(options: SocketSessionOptions, handlers: SocketHandlers): Promise<SocketSession> {
  return new Promise<SocketSession>((resolveOpen, rejectOpen) => {
    let ws: WebSocketLike
    try {
      ws = new options.WebSocket(options.url)
    } catch (e) {
      rejectOpen(new NetworkError(`cannot open ${options.url}: ${e instanceof Error ? e.message : String(e)}`))
      return
    }
    let phase: 'opening' | 'open' | 'closed' = 'opening'
    let welcomed = false
    let heardAt = Date.now()
    let current: Waiting | undefined
    let queue: Promise<unknown> = Promise.resolve()
    const pongs: (() => void)[] = []
    let stopTimer = (): void => {}
    const hello: Extract<Waiting, { kind: 'pull' }> = {
      kind: 'pull',
      hasMore: false,
      resolve: () => {},
      reject: () => {},
    }

    const send = (message: ClientMessage): void => {
      if (ws.readyState !== OPEN) throw new NetworkError('the socket is not open')
      ws.send(JSON.stringify(message))
    }

    const end = (error: Error, byUs: boolean): void => {
      if (phase === 'closed') return
      const wasOpen = phase === 'open'
      phase = 'closed'
      stopTimer()
      pongs.length = 0
      current?.reject(error)
      current = undefined
      if (!wasOpen) rejectOpen(error)
      else if (!byUs) handlers.closed(error)
      try {
        if (ws.readyState <= OPEN) ws.close(byUs ? 1000 : 4000, byUs ? 'closed by the client' : 'no answer')
      } catch {
        // Closing a socket that is already going away.
      }
    }

    const watch = (): void => {
      stopTimer = after(options.pingIntervalMs, () => {
        const silence = Date.now() - heardAt
        if (silence >= options.pingIntervalMs + options.deadAfterMs) {
          end(new NetworkError(`no message from the server for ${silence} ms`), false)
          return
        }
        if (silence >= options.pingIntervalMs) {
          try {
            send({ type: 'ping' })
            pongs.push(() => {})
          } catch (e) {
            end(e as Error, false)
            return
          }
        }
        watch()
      })
    }

    const request = <T>(start: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> => {
      const run = () =>
        new Promise<T>((resolve, reject) => {
          if (phase !== 'open') return reject(new NetworkError('the socket is closed'))
          try {
            start(resolve, reject)
          } catch (e) {
            reject(e as Error)
            end(e as Error, false)
          }
        })
      const p = queue.then(run, run)
      queue = p.catch(() => {})
      return p
    }

    const finishPull = (waiting: Extract<Waiting, { kind: 'pull' }>): void => {
      if (current === waiting) current = undefined
      if (waiting.error) waiting.reject(waiting.error)
      else waiting.resolve({ hasMore: waiting.hasMore })
    }

    const receive = (message: ServerMessage): void => {
      switch (message.type) {
        case 'welcome':
          welcomed = true
          return
        case 'changes': {
          const { type: _type, ...page } = message
          handlers.changes(page)
          if (current?.kind === 'pull') current.hasMore = page.hasMore
          return
        }
        case 'pushResult': {
          const { type: _type, ...response } = message
          if (current?.kind === 'push') {
            const waiting = current
            current = undefined
            waiting.resolve(response)
          } else handlers.strayPushResult(response)
          return
        }
        case 'poke':
          handlers.poke()
          return
        case 'pong':
          pongs.shift()?.()
          return
        case 'error': {
          const error = serverError(message.code, message.message)
          if (current?.kind === 'push') {
            const waiting = current
            current = undefined
            waiting.reject(error)
          } else if (current?.kind === 'pull') current.error = error
          else handlers.error(error)
          return
        }
      }
    }

    const session: SocketSession = {
      resyncNeeded: false,
      pull(cursor) {
        return request<{ hasMore: boolean }>((resolve, reject) => {
          const waiting: Waiting = { kind: 'pull', hasMore: false, resolve, reject }
          current = waiting
          send({ type: 'pull', cursor })
          send({ type: 'ping' })
          pongs.push(() => finishPull(waiting))
        })
      },
      push(mutations) {
        return request<PushResponse>((resolve, reject) => {
          current = { kind: 'push', resolve, reject }
          send({ type: 'push', mutations })
        })
      },
      close() {
        end(new NetworkError('the socket was closed by the client'), true)
      },
    }

    const { signal } = options
    if (signal?.aborted) {
      end(new NetworkError('opening the socket was aborted'), true)
      return
    }
    signal?.addEventListener('abort', () => end(new NetworkError('the socket was closed by the client'), true), { once: true })

    const cancelConnectTimer = after(options.connectTimeoutMs, () => {
      if (!welcomed) end(new NetworkError(`no welcome from ${options.url} within ${options.connectTimeoutMs} ms`), false)
    })

    ws.addEventListener('open', () => {
      try {
        send({ type: 'hello', ...options.hello })
        send({ type: 'ping' })
      } catch (e) {
        end(e as Error, false)
        return
      }
      current = hello
      // The pong comes once the catch-up is over: the server handles hello (and its catch-up) first.
      pongs.push(() => {
        cancelConnectTimer()
        if (current === hello) current = undefined
        if (!welcomed) {
          end(hello.error ?? new PulseError('unauthenticated', 'the server did not welcome this client'), false)
          return
        }
        phase = 'open'
        Object.assign(session, { resyncNeeded: hello.error !== undefined && needsResync(hello.error) })
        if (hello.error && !needsResync(hello.error)) handlers.error(hello.error)
        watch()
        resolveOpen(session)
      })
    })
    ws.addEventListener('message', (event) => {
      if (phase === 'closed') return
      heardAt = Date.now()
      let message: ServerMessage
      try {
        message = JSON.parse(String(event.data)) as ServerMessage
      } catch {
        handlers.error(serverError('invalid_json', 'the server sent a frame that is not JSON'))
        return
      }
      receive(message)
    })
    ws.addEventListener('close', (event) => {
      cancelConnectTimer()
      end(closeError(event.code, event.reason), false)
    })
    ws.addEventListener('error', () => {
      // The close event follows with the code; an error before open means it never connected.
      if (phase === 'opening') {
        cancelConnectTimer()
        end(new NetworkError(`cannot connect to ${options.url}`), false)
      }
    })
  })
}
