/**
 * One WebSocket client's conversation (PROTOCOL.md §6): hello and welcome, catch-up pages,
 * then live changes through the hub; pull, push and ping at any time after hello. Messages are
 * handled one at a time, in the order they arrived, so replies come in request order.
 */
import {
  type ClientMessage,
  decodeCursor,
  ERROR_CODES,
  encodeCursor,
  isPulseError,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ServerMessage,
} from '@pulse/core'
import type { Actor, Context } from '../engine/context.ts'
import type { Engine } from '../engine/engine.ts'
import type { PullPage } from '../engine/pull.ts'
import { type LiveConnection, poke, viewKey } from './fan-out.ts'
import type { Hub } from './hub.ts'

/** An actor whose credential expires: the connection closes with 4401 then (§6, issue 5). */
export interface ExpiringActor {
  actor: Actor
  /** Seconds since the epoch. */
  expiresAt?: number
}

/** Who a hello's token stands for; throws a PulseError (`unauthenticated`, `forbidden`) to refuse. */
export type Authenticate = (token: string | undefined, clientId: string) => Promise<Actor | ExpiringActor>

/** What a session writes to: the socket, seen narrowly. */
export interface SessionTransport {
  /** The connection id, for logs. */
  readonly id: string
  readonly bufferedAmount: number
  /** Sends an encoded text message; does nothing once the socket is closing. */
  sendRaw(payload: Buffer | string): void
  /** Closes the socket with a close code (PROTOCOL.md §6). */
  close(code: number, reason: string): void
}

/** The log lines a session writes. */
export interface SessionLog {
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

/** What `createSession` takes. */
export interface SessionOptions {
  engine: Engine
  hub: Hub
  transport: SessionTransport
  authenticate: Authenticate
  log: SessionLog
  /** The id of the upgrade request, carried into the engine's context. */
  requestId: string
  /** How long the client has to say hello (default 5 s). */
  helloTimeoutMs: number
  /**
   * How often the hello's credentials are checked again while the socket is open (default
   * 10 s): when the caller's scope changed (an organization joined or left), the socket gets
   * `error scope_changed` and closes with 4401; the client reconnects and resyncs.
   */
  recheckIntervalMs?: number
  /** Extra catch-up rounds while commits keep landing, before falling back to a poke. */
  maxCatchUpRounds?: number
}

/** A session's face to the socket. */
export interface Session {
  /** Takes one text frame. */
  receive(text: string): void
  /** The socket closed: stop everything. */
  closed(): void
  /** Resolves when every message received so far has been handled (tests, shutdown). */
  idle(): Promise<void>
}

/** Default time to say hello. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5000
const DEFAULT_CATCH_UP_ROUNDS = 3
const CLOSE_INTERNAL_ERROR = 1011

function closeCodeOf(error: unknown): number | undefined {
  if (!isPulseError(error)) return undefined
  const row = ERROR_CODES[error.code]
  return 'closeCode' in row ? row.closeCode : undefined
}

/** Starts a session: the hello timer runs from now. */
export function createSession(options: SessionOptions): Session {
  const { engine, hub, transport, log } = options
  const abort = new AbortController()
  let phase: 'hello' | 'ready' | 'closed' = 'hello'
  let queue: Promise<void> = Promise.resolve()
  let ctx: Context | undefined
  let models: string[] | undefined
  let clientId = ''
  let connection: LiveConnection | undefined

  const helloTimer = setTimeout(() => end(ERROR_CODES.hello_timeout.closeCode, 'no hello in time'), options.helloTimeoutMs)
  helloTimer.unref()
  let expiryTimer: ReturnType<typeof setTimeout> | undefined
  let recheckTimer: ReturnType<typeof setInterval> | undefined

  function send(message: ServerMessage): void {
    if (phase !== 'closed') transport.sendRaw(JSON.stringify(message))
  }

  /** An `error` message; `id` names the request it ends (§6, version 2). */
  function sendError(code: string, message: string, id?: string): void {
    send({ type: 'error', ...(id !== undefined ? { id } : {}), code, message })
  }

  function end(code: number, reason: string): void {
    if (phase === 'closed') return
    transport.close(code, reason)
    stop()
  }

  function stop(): void {
    phase = 'closed'
    clearTimeout(helloTimer)
    clearTimeout(expiryTimer)
    clearInterval(recheckTimer)
    abort.abort()
    if (connection) hub.remove(connection)
  }

  /** Reports an engine failure as an `error` message (§7 codes), ending request `id`; unexpected ones are logged. */
  function report(error: unknown, during: string, id?: string): void {
    if (phase === 'closed') return
    if (isPulseError(error)) {
      if (error.code === 'internal_error') log.error({ connectionId: transport.id, err: error }, `${during} failed`)
      sendError(error.code, error.message, id)
      return
    }
    log.error({ connectionId: transport.id, err: error }, `${during} failed`)
    sendError('internal_error', 'the server failed; nothing was applied', id)
  }

  /**
   * One page from `cursor`. A last page (no more) also covers every commit the hub had
   * dispatched before the read began, so its cursor moves at least to that position: a client
   * whose scope saw nothing lately still follows on from the next live commit.
   */
  async function readPage(active: Context, cursor: string | null, limit?: number): Promise<{ page: PullPage; position: number }> {
    const headBefore = hub.head ?? 0
    const page = await engine.pull(
      { ...active, signal: abort.signal },
      { cursor, ...(limit ? { limit } : {}), ...(models ? { models } : {}) },
    )
    let position = decodeCursor(page.cursor)
    if (!page.hasMore && headBefore > position) {
      position = headBefore
      page.cursor = encodeCursor(position, active.actor.scopeEpoch ?? 0)
    }
    return { page, position }
  }

  /** Live again after a last page at `position`, unless commits were dispatched meanwhile. */
  function settle(live: LiveConnection, position: number): boolean {
    live.cursor = position
    if (hub.head !== undefined && hub.head > position) return false
    live.mode = 'live'
    return true
  }

  /** Streams pages from `from`; the first round's last page carries the hello's `id` (its end, §6). */
  async function catchUp(active: Context, live: LiveConnection, from: string | null, id: string | undefined): Promise<void> {
    let cursor = from
    const rounds = options.maxCatchUpRounds ?? DEFAULT_CATCH_UP_ROUNDS
    for (let round = 0; phase === 'ready'; ) {
      const { page, position } = await readPage(active, cursor)
      // The first round sends every page, so the client sees its catch-up end (hasMore false).
      const ends = round === 0 && !page.hasMore && id !== undefined
      if (round === 0 || page.changes.length > 0) send({ type: 'changes', ...(ends ? { id } : {}), ...page })
      cursor = page.cursor
      live.cursor = position
      if (page.hasMore) continue
      if (settle(live, position)) return
      round += 1
      if (round > rounds) {
        poke(live)
        return
      }
    }
  }

  async function hello(message: Extract<ClientMessage, { type: 'hello' }>): Promise<void> {
    if (phase !== 'hello') return sendError('bad_request', 'hello was already received')
    const version = message.schemaVersion
    if (version !== undefined && (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION)) {
      return end(ERROR_CODES.schema_unsupported.closeCode, `protocol versions ${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION} only`)
    }
    try {
      for (const m of message.models ?? []) engine.schema.model(m)
    } catch (e) {
      return report(e, 'hello', message.id)
    }
    let actor: Actor
    let expiresAt: number | undefined
    try {
      const who = await options.authenticate(message.token, message.clientId)
      if ('actor' in who) {
        actor = who.actor
        expiresAt = who.expiresAt
      } else actor = who
    } catch (e) {
      const code = closeCodeOf(e)
      if (code !== undefined) return end(code, isPulseError(e) ? e.message.slice(0, 120) : 'refused')
      log.error({ connectionId: transport.id, err: e }, 'authentication failed')
      return end(CLOSE_INTERNAL_ERROR, 'internal error')
    }
    if (phase !== 'hello') return
    clearTimeout(helloTimer)
    if (expiresAt !== undefined) {
      // The token is re-checked when it expires: the client reconnects with a fresh one.
      expiryTimer = setTimeout(
        () => end(ERROR_CODES.unauthenticated.closeCode, 'the access token expired'),
        Math.max(0, expiresAt * 1000 - Date.now()),
      )
      expiryTimer.unref()
    }
    const helloToken = message.token
    const seenView = viewKey(actor, message.models)
    recheckTimer = setInterval(() => {
      options.authenticate(helloToken, message.clientId).then(
        (who) => {
          const now = 'actor' in who ? who.actor : who
          if (viewKey(now, message.models) === seenView) return
          sendError('scope_changed', 'your organizations changed: reconnect and pull from no cursor')
          end(ERROR_CODES.unauthenticated.closeCode, 'scope changed')
        },
        (e: unknown) => {
          const code = closeCodeOf(e)
          end(code ?? ERROR_CODES.unauthenticated.closeCode, isPulseError(e) ? e.message.slice(0, 120) : 'credentials no longer valid')
        },
      )
    }, options.recheckIntervalMs ?? 10_000)
    recheckTimer.unref()
    phase = 'ready'
    models = message.models
    clientId = message.clientId
    const active: Context = { actor, requestId: options.requestId }
    ctx = active
    const live: LiveConnection = {
      id: transport.id,
      actor,
      models: models ? new Set(models) : undefined,
      viewKey: viewKey(actor, models),
      cursor: 0,
      mode: 'syncing',
      get bufferedAmount() {
        return transport.bufferedAmount
      },
      send: (payload) => transport.sendRaw(payload),
    }
    connection = live
    send({ type: 'welcome', userId: actor.userId, serverTime: new Date().toISOString() })
    hub.add(live)
    try {
      await catchUp(active, live, message.cursor, message.id)
    } catch (e) {
      // cursor_expired (§2) and forged cursors: the client pulls from no cursor.
      live.mode = 'behind'
      report(e, 'catch-up', message.id)
    }
  }

  async function pull(active: Context, live: LiveConnection, message: Extract<ClientMessage, { type: 'pull' }>): Promise<void> {
    live.mode = 'syncing'
    try {
      const { page, position } = await readPage(active, message.cursor, message.limit)
      send({ type: 'changes', ...(message.id !== undefined ? { id: message.id } : {}), ...page })
      live.cursor = position
      // A paged pull stays out of the live stream until its last page.
      if (!page.hasMore && !settle(live, position)) poke(live)
    } catch (e) {
      live.mode = 'behind'
      report(e, 'pull', message.id)
    }
  }

  async function handle(text: string): Promise<void> {
    if (phase === 'closed') return
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      return sendError('invalid_json', 'a message is one JSON object per text frame')
    }
    let message: ClientMessage
    try {
      message = parseClientMessage(data)
    } catch (e) {
      return report(e, 'parse')
    }
    if (message.type === 'ping') return send({ type: 'pong' })
    if (message.type === 'hello') return hello(message)
    if (!ctx || !connection) return end(ERROR_CODES.unauthenticated.closeCode, 'send hello first')
    if (message.type === 'pull') return pull(ctx, connection, message)
    try {
      const result = await engine.push(ctx, { clientId, mutations: message.mutations })
      send({ type: 'pushResult', ...(message.id !== undefined ? { id: message.id } : {}), ...result })
    } catch (e) {
      report(e, 'push', message.id)
    }
  }

  return {
    receive(text) {
      if (phase === 'closed') return
      queue = queue.then(() =>
        handle(text).catch((e: unknown) => {
          log.error({ connectionId: transport.id, err: e }, 'message handling failed')
          if (!isPulseError(e)) end(CLOSE_INTERNAL_ERROR, 'internal error')
        }),
      )
    },
    closed() {
      stop()
    },
    idle: () => queue,
  }
}
