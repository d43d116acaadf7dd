/**
 * The sync protocol over a WebSocket (PROTOCOL.md §6, version 2). Opening sends `hello` and
 * waits for `welcome` and the end of the catch-up; then `pull` and `push` are requests, and
 * `changes`, `poke` and stray `error`s go to handlers as they come. Every request carries an
 * `id` that the reply ending it echoes (the hello's on the last catch-up page or on the error
 * that cut it short), so the end of a pull is marked by the protocol itself. Every frame is
 * checked with core's `parseServerMessage` before it is used: one that fails is a
 * ProtocolError for the handlers (and for the request it names), never a cast.
 */
import {
  type ClientMessage,
  ERROR_CODES,
  type ErrorCode,
  type Mutation,
  type PullResponse,
  PulseError,
  type PushResponse,
  parseServerMessage,
  type ServerMessage,
} from '@pulse/core'
import { NetworkError, needsResync, ProtocolError, serverError } from '../errors.ts'
import type { AbortSignalLike, Clock, WebSocketConstructor, WebSocketLike } from '../platform.ts'

/** The hello fields (§6), besides its type and id. */
export type Hello = Omit<Extract<ClientMessage, { type: 'hello' }>, 'type' | 'id'>

/** What `openSocketSession` takes. */
export interface SocketSessionOptions {
  /** The socket URL, e.g. `wss://sync.example.com/ws`. */
  url: string
  WebSocket: WebSocketConstructor
  hello: Hello
  /** How long opening may take until the catch-up is over. */
  connectTimeoutMs: number
  /** A ping after this much silence; */
  pingIntervalMs: number
  /** and the connection counts as dead after this much more. */
  deadAfterMs: number
  clock: Clock
  /** Aborting it gives up opening; once open, the session lives until `close()`. */
  signal?: AbortSignalLike
}

/** Where the session's unrequested messages go. */
export interface SocketHandlers {
  /** A page of changes: catch-up, live, or a pull's reply (before the pull resolves). */
  changes(page: PullResponse): void
  /** "Changes exist past your cursor; pull." */
  poke(): void
  /** An `error` message that answers no request, or a frame that could not be read. */
  error(error: Error): void
  /** The connection ended (not by `close()`): why. */
  closed(error: Error): void
}

/** An open, welcomed session. */
export interface SocketSession {
  /**
   * Why the hello's catch-up stopped short of the head, or undefined when it reached it. A
   * refused cursor (§2 cursor_expired, §8 scope_changed) asks for a pull from no cursor; any
   * other error for a pull on.
   */
  readonly catchUpError: PulseError | undefined
  /** Pulls one page from `cursor` (applied through `handlers.changes`); resolves with whether more pages wait. */
  pull(cursor: string | null): Promise<{ hasMore: boolean }>
  /** Pushes mutations; resolves with the answer. */
  push(mutations: Mutation[]): Promise<PushResponse>
  /** Closes the socket; pending requests reject with a NetworkError. */
  close(): void
}

type Reply = Extract<ServerMessage, { type: 'changes' | 'pushResult' | 'error' }>

interface Waiting {
  settle(reply: Reply): void
  reject(error: Error): void
}

const OPEN = 1
const HELLO_ID = 'hello'
const CLOSE_CODES: ReadonlyMap<number, ErrorCode> = new Map(
  Object.entries(ERROR_CODES).flatMap(([code, row]) => ('closeCode' in row ? [[row.closeCode, code as ErrorCode] as const] : [])),
)

/** The error a close code stands for (§6): a PulseError for Pulse's codes, a NetworkError otherwise. */
export function closeError(code: number, reason: string): Error {
  const pulseCode = CLOSE_CODES.get(code)
  if (pulseCode) return new PulseError(pulseCode, reason || `the server closed the socket (${code})`)
  return new NetworkError(`the socket closed (${code}${reason ? `: ${reason}` : ''})`)
}

function pageOf(reply: Extract<Reply, { type: 'changes' }>): PullResponse {
  return { changes: reply.changes, cursor: reply.cursor, hasMore: reply.hasMore }
}

/** Opens a socket, says hello, and resolves once the catch-up is over. */
export function openSocketSession(options: SocketSessionOptions, handlers: SocketHandlers): Promise<SocketSession> {
  return new Promise<SocketSession>((resolveOpen, rejectOpen) => {
    const { clock } = options
    let ws: WebSocketLike
    try {
      ws = new options.WebSocket(options.url)
    } catch (e) {
      rejectOpen(new NetworkError(`cannot open ${options.url}: ${e instanceof Error ? e.message : String(e)}`))
      return
    }
    let phase: 'opening' | 'open' | 'closed' = 'opening'
    let welcomed = false
    let heardAt = clock.now()
    let nextId = 1
    const waiting = new Map<string, Waiting>()
    let catchUpError: PulseError | undefined
    let stopWatch = (): void => {}
    let cancelConnectTimer = (): void => {}
    const giveUp = (): void => end(new NetworkError('opening the socket was aborted'), true)

    const send = (message: ClientMessage): void => {
      if (ws.readyState !== OPEN) throw new NetworkError('the socket is not open')
      ws.send(JSON.stringify(message))
    }

    const end = (error: Error, byUs: boolean): void => {
      if (phase === 'closed') return
      const wasOpen = phase === 'open'
      phase = 'closed'
      stopWatch()
      cancelConnectTimer()
      for (const w of waiting.values()) w.reject(error)
      waiting.clear()
      if (!wasOpen) rejectOpen(error)
      else if (!byUs) handlers.closed(error)
      try {
        if (ws.readyState <= OPEN) ws.close(byUs ? 1000 : 4000, byUs ? 'closed by the client' : 'no answer')
      } catch (closing) {
        // The socket is going away already; the error that ended the session is the one that matters.
        if (!byUs) handlers.error(closing instanceof Error ? closing : new Error(String(closing)))
      }
    }

    /** Pings after silence; ends the session once the server has been silent too long. */
    const watch = (): void => {
      stopWatch = clock.after(options.pingIntervalMs, () => {
        const silence = clock.now() - heardAt
        if (silence >= options.pingIntervalMs + options.deadAfterMs) {
          end(new NetworkError(`no message from the server for ${silence} ms`), false)
          return
        }
        if (silence >= options.pingIntervalMs && !trySend({ type: 'ping' })) return
        watch()
      })
    }

    /** Sends, or ends the session when the socket cannot take it; says whether it went. */
    const trySend = (message: ClientMessage): boolean => {
      try {
        send(message)
        return true
      } catch (e) {
        end(e instanceof Error ? e : new NetworkError(String(e)), false)
        return false
      }
    }

    const request = <T>(message: (id: string) => ClientMessage, settle: (reply: Reply) => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (phase !== 'open') return reject(new NetworkError('the socket is closed'))
        const id = String(nextId++)
        waiting.set(id, {
          settle: (reply) => {
            try {
              resolve(settle(reply))
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)))
            }
          },
          reject,
        })
        if (!trySend(message(id))) reject(new NetworkError('the socket is closed'))
      })

    const finishOpen = (error?: PulseError): void => {
      if (!welcomed) {
        end(new PulseError('unauthenticated', 'the server did not welcome this client'), false)
        return
      }
      cancelConnectTimer()
      options.signal?.removeEventListener('abort', giveUp)
      catchUpError = error
      phase = 'open'
      watch()
      resolveOpen(session)
    }

    /** The hello's end: the last catch-up page, or the error that refused the hello or cut its catch-up short. */
    const helloEnded = (reply: Reply): void => {
      if (reply.type === 'changes') finishOpen()
      else if (reply.type === 'pushResult') end(new ProtocolError('the server answered the hello with a push result'), false)
      else {
        const error = serverError(reply.code, reply.message)
        // Before welcome the hello itself was refused (an unknown model…): the session never opens.
        if (!welcomed) end(error, false)
        else {
          if (!needsResync(error)) handlers.error(error)
          finishOpen(error)
        }
      }
    }

    /** A reply to a request: it settles the request its id names. */
    const answer = (reply: Reply): void => {
      if (reply.id === undefined) {
        if (reply.type === 'error') handlers.error(serverError(reply.code, reply.message))
        else if (reply.type === 'pushResult') handlers.error(new ProtocolError('the server sent a push result without an id'))
      } else if (phase === 'opening' && reply.id === HELLO_ID) helloEnded(reply)
      else {
        const w = waiting.get(reply.id)
        if (!w) handlers.error(new ProtocolError(`the server answered request "${reply.id}", which is not open`))
        waiting.delete(reply.id)
        w?.settle(reply)
      }
    }

    const receive = (message: ServerMessage): void => {
      if (message.type === 'welcome') welcomed = true
      else if (message.type === 'poke') handlers.poke()
      else if (message.type !== 'pong') {
        // Pages are applied as they come, a pull's own page before the pull resolves.
        if (message.type === 'changes') handlers.changes(pageOf(message))
        answer(message)
      }
    }

    /** A frame that is not a valid §6 message: reported; the request it names (if any) fails with it. */
    const unreadable = (data: unknown, error: Error): void => {
      const problem = new ProtocolError(error.message)
      if (phase === 'opening') {
        end(problem, false)
        return
      }
      const id = (data as { id?: unknown } | null)?.id
      const w = typeof id === 'string' ? waiting.get(id) : undefined
      if (w && typeof id === 'string') {
        waiting.delete(id)
        w.reject(problem)
      }
      handlers.error(problem)
    }

    const session: SocketSession = {
      get catchUpError() {
        return catchUpError
      },
      pull(cursor) {
        return request(
          (id) => ({ type: 'pull', id, cursor }),
          (reply) => {
            if (reply.type === 'error') throw serverError(reply.code, reply.message)
            if (reply.type !== 'changes') throw new ProtocolError('the server answered a pull with a push result')
            return { hasMore: reply.hasMore }
          },
        )
      },
      push(mutations) {
        return request(
          (id) => ({ type: 'push', id, mutations }),
          (reply) => {
            if (reply.type === 'error') throw serverError(reply.code, reply.message)
            if (reply.type !== 'pushResult') throw new ProtocolError('the server answered a push with changes')
            return { lastMid: reply.lastMid, results: reply.results }
          },
        )
      },
      close() {
        end(new NetworkError('the socket was closed by the client'), true)
      },
    }

    cancelConnectTimer = clock.after(options.connectTimeoutMs, () => {
      end(new NetworkError(`no welcome and catch-up from ${options.url} within ${options.connectTimeoutMs} ms`), false)
    })
    const { signal } = options
    if (signal?.aborted) {
      end(new NetworkError('opening the socket was aborted'), true)
      return
    }
    signal?.addEventListener('abort', giveUp, { once: true })

    ws.addEventListener('open', () => {
      trySend({ type: 'hello', id: HELLO_ID, ...options.hello })
    })
    ws.addEventListener('message', (event) => {
      if (phase === 'closed') return
      heardAt = clock.now()
      let data: unknown
      try {
        data = JSON.parse(String(event.data))
      } catch {
        unreadable(undefined, new Error('the server sent a frame that is not JSON'))
        return
      }
      let message: ServerMessage
      try {
        message = parseServerMessage(data)
      } catch (e) {
        unreadable(data, e instanceof Error ? e : new Error(String(e)))
        return
      }
      receive(message)
    })
    ws.addEventListener('close', (event) => {
      end(closeError(event.code, event.reason), false)
    })
    ws.addEventListener('error', () => {
      // The close event follows with the code; an error before open means it never connected.
      if (phase === 'opening') end(new NetworkError(`cannot connect to ${options.url}`), false)
    })
  })
}
