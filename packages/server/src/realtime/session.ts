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
import { encodePage, type PullPage } from '../engine/pull.ts'
import type { AccessWatch } from './access-watch.ts'
import { type LiveConnection, poke, viewKey } from './fan-out.ts'
import { createFlowControl, type FlowTransport } from './flow-control.ts'
import type { Hub } from './hub.ts'
import type { TakeTurn } from './turns.ts'

/** An authenticated hello: the actor, and how to keep it current (§6, issue 8). */
export interface ExpiringActor {
  actor: Actor
  /** When the credential expires, seconds since the epoch: the connection closes with 4401 then. */
  expiresAt?: number
  /**
   * Reads the actor again from the current state (memberships, revocations, logouts); throws a
   * PulseError (`unauthenticated`, `forbidden`) when the credential no longer holds. Every push
   * and pull is authorised with its answer; absent, the hello's actor stands.
   */
  reload?: () => Promise<Actor>
  /** The API token the hello presented, if any: its revocation closes the socket. */
  apiTokenId?: string
}

/** Who a hello's token stands for; throws a PulseError (`unauthenticated`, `forbidden`) to refuse. */
export type Authenticate = (token: string | undefined, clientId: string) => Promise<Actor | ExpiringActor>

/** What a session writes to: the socket, seen narrowly. */
export interface SessionTransport extends FlowTransport {
  /** The connection id, for logs. */
  readonly id: string
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
   * Access changes announced on the bus (memberships, logouts, revocations): a socket they
   * concern is closed at once. Absent: only the re-check below and each push's check act.
   */
  watch?: AccessWatch
  /**
   * How often the hello's credentials are checked again while the socket is open (default
   * 10 s), for changes the bus did not carry (a CLI revocation without Redis): when the caller's
   * scope changed, the socket gets `error scope_changed` and closes with 4401; the client
   * reconnects and resyncs. Each push and pull is checked against the current state anyway.
   */
  recheckIntervalMs?: number
  /**
   * Waits for this session's turn before each page it reads (`turns.ts`), shared by every
   * socket of the process. Absent: pages are read at once.
   */
  turn?: TakeTurn
  /** Extra catch-up rounds while commits keep landing, before falling back to a poke. */
  maxCatchUpRounds?: number
  /**
   * Pacing (§6): a catch-up or pull page is sent only once at most this many bytes wait in the
   * socket's send buffer (default 1 MiB), so a slow reader holds one page in memory, not all.
   */
  drainBytes?: number
  /**
   * Unsent bytes past which the socket is dropped when more is sent (default 8 MiB): a client
   * that does not read its socket cannot make the server buffer without bound.
   */
  maxSocketBufferBytes?: number
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
  let seenView = ''
  let reloadActor: (() => Promise<Actor>) | undefined
  let unwatch: (() => void) | undefined
  let authStartedAt = 0
  // §6: every byte to the client passes through flow control (pacing, dropping non-readers).
  const flow = createFlowControl(transport, {
    ...(options.drainBytes !== undefined ? { drainBytes: options.drainBytes } : {}),
    ...(options.maxSocketBufferBytes !== undefined ? { maxSocketBufferBytes: options.maxSocketBufferBytes } : {}),
    isOpen: () => phase !== 'closed',
    onDrop: (bufferedBytes) => {
      log.warn({ connectionId: transport.id, bufferedBytes }, 'dropping a connection that does not read')
      stop()
    },
  })

  const helloTimer = setTimeout(() => end(ERROR_CODES.hello_timeout.closeCode, 'no hello in time'), options.helloTimeoutMs)
  helloTimer.unref()
  let expiryTimer: ReturnType<typeof setTimeout> | undefined
  let recheckTimer: ReturnType<typeof setInterval> | undefined

  function send(message: ServerMessage): void {
    // As bytes: a string waiting in a socket's queue would sit in the JavaScript heap.
    if (phase !== 'closed') flow.send(Buffer.from(JSON.stringify(message)))
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
    unwatch?.()
    if (connection) hub.remove(connection)
  }

  /** Tells the client why and closes: its credential or its scope changed (§6, §8). */
  function revoke(code: 'scope_changed' | 'unauthenticated', message: string): void {
    if (phase === 'closed') return
    sendError(code, message)
    end(ERROR_CODES.unauthenticated.closeCode, code === 'scope_changed' ? 'scope changed' : message.slice(0, 120))
  }

  /**
   * The actor as it stands now (issue 8: never the hello's, frozen): undefined, with the socket
   * closed, when the credential no longer holds or the caller's scope changed since hello.
   * When the state cannot be read (the database is down), undefined with the socket kept: the
   * failure is reported to the client (`during` a push or pull, ending request `id`) or only
   * logged (a re-check).
   */
  async function currentActor(helloActor: Actor, during: 'push' | 'pull' | 're-check', id?: string): Promise<Actor | undefined> {
    if (!reloadActor) return helloActor
    let now: Actor
    try {
      now = await reloadActor()
    } catch (e) {
      if (isPulseError(e) && e.code === 'unauthenticated') revoke('unauthenticated', e.message)
      else if (isPulseError(e) && e.code === 'forbidden') end(ERROR_CODES.forbidden.closeCode, e.message.slice(0, 120))
      else if (during === 're-check') log.warn({ connectionId: transport.id, err: e }, 'could not re-check the credentials')
      else report(e, during, id)
      return undefined
    }
    if (phase === 'closed') return undefined
    if (viewKey(now, models) !== seenView) {
      revoke('scope_changed', 'your organizations changed: reconnect and pull from no cursor')
      return undefined
    }
    return now
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
   * One page from `cursor`, sent (when `sendIf` agrees) while it still counts against the pull
   * budget, once the send buffer has room. A last page (no more) also covers every commit the
   * hub had dispatched before the read began, so its cursor moves at least to that position: a
   * client whose scope saw nothing lately still follows on from the next live commit.
   */
  async function sendPage(
    active: Context,
    cursor: string | null,
    limit: number | undefined,
    sendIf: (page: PullPage) => boolean,
    idOf: (page: PullPage) => string | undefined,
  ): Promise<{ page: PullPage; position: number }> {
    await flow.room()
    await options.turn?.(abort.signal)
    const headBefore = hub.head ?? 0
    let position = 0
    const page = await engine.pull(
      { ...active, signal: abort.signal },
      { cursor, ...(limit ? { limit } : {}), ...(models ? { models } : {}) },
      (p) => {
        position = decodeCursor(p.cursor)
        if (!p.hasMore && headBefore > position) {
          position = headBefore
          p.cursor = encodeCursor(position, active.actor.scopeEpoch ?? 0)
        }
        if (!sendIf(p) || phase === 'closed') return
        const id = idOf(p)
        // The page's changes are concatenated as encoded once (wire-cache.ts), not serialised again.
        flow.send(encodePage(p, `"type":"changes",${id !== undefined ? `"id":${JSON.stringify(id)},` : ''}`))
      },
    )
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
      // The first round sends every page, so the client sees its catch-up end (hasMore false);
      // that first last page ends the hello's request (§6, version 2).
      const first = round === 0
      const { page, position } = await sendPage(
        active,
        cursor,
        undefined,
        (p) => first || p.wire.length > 0,
        (p) => (first && !p.hasMore ? id : undefined),
      )
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
    let apiTokenId: string | undefined
    try {
      authStartedAt = Date.now()
      const who = await options.authenticate(message.token, message.clientId)
      if ('actor' in who) {
        actor = who.actor
        expiresAt = who.expiresAt
        reloadActor = who.reload
        apiTokenId = who.apiTokenId
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
    seenView = viewKey(actor, message.models)
    models = message.models
    const helloActor = actor
    recheckTimer = setInterval(() => {
      currentActor(helloActor, 're-check').catch((e: unknown) => log.error({ connectionId: transport.id, err: e }, 're-check failed'))
    }, options.recheckIntervalMs ?? 10_000)
    recheckTimer.unref()
    phase = 'ready'
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
      send: (payload) => flow.send(payload),
    }
    connection = live
    // From here on, an access change announced on the bus closes this socket at once; one
    // announced while the credential was being read closes it now.
    unwatch = options.watch?.add({ actor, apiTokenId, revoke }, authStartedAt)
    if (phase !== 'ready') return
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
      const { page, position } = await sendPage(
        active,
        message.cursor,
        message.limit,
        () => true,
        () => message.id,
      )
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
    // Authorised against the current memberships and credential, not the hello's (issue 8).
    const actor = await currentActor(ctx.actor, message.type, message.id)
    if (!actor) return
    const current: Context = { ...ctx, actor }
    if (message.type === 'pull') return pull(current, connection, message)
    try {
      const result = await engine.push(current, { clientId, mutations: message.mutations })
      send({ type: 'pushResult', ...(message.id !== undefined ? { id: message.id } : {}), ...result })
    } catch (e) {
      report(e, 'push', message.id)
    }
  }

  return {
    receive(text) {
      if (phase === 'closed') return
      flow.received(text.length)
      queue = queue.then(() =>
        handle(text)
          .catch((e: unknown) => {
            log.error({ connectionId: transport.id, err: e }, 'message handling failed')
            if (!isPulseError(e)) end(CLOSE_INTERNAL_ERROR, 'internal error')
          })
          .finally(() => flow.handled(text.length)),
      )
    },
    closed() {
      stop()
    },
    idle: () => queue,
  }
}
