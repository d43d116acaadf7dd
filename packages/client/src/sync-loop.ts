/**
 * The sync loop: WebSocket first (§6), HTTP pull and push when the socket cannot connect,
 * reconnection with jittered backoff, the platform's online/offline events. The connection is
 * in one explicit state at a time; every change goes through `go`, which checks it against
 * TRANSITIONS, leaves the old state (its timers cancelled, its socket closed, its attempt
 * aborted) and enters the new one. The status's `online` and `transport` are derived from the
 * state alone, so the status says `websocket` only once the first sync over it is done.
 *
 *                        ┌──────┐
 *                        │ idle │
 *                        └──┬───┘
 *                           │ start()
 *                           ▼
 *   ┌─────────┐  retry  ┌────────────┐  caught up over the socket  ┌────────┐
 *   │ backoff │ ──────► │ connecting │ ──────────────────────────► │ socket │
 *   │         │ ◄────── │            │ ◄────── scope changed ───── │        │
 *   └─────────┘ failed  └────────────┘                             └────────┘
 *     ▲    ▲                  │ no socket: pulled to the end over HTTP ▲    │
 *     │    │                  ▼                                        │    │
 *     │    │  HTTP failed  ┌──────┐        a poll opened the socket    │    │
 *     │    └────────────── │ http │ ───────────────────────────────────┘    │
 *     │                    └──────┘                                         │
 *     └─────────────────────────── socket lost, credentials refused ────────┘
 *
 *   retry: the backoff timer ran out, `onUnauthorized` settled, or `sync()` asked.
 *   idle, connecting, socket, http, backoff ── platform offline ──► offline ── online ──► connecting
 *   every state ── close() ──► closed
 *
 * Time comes from the injected clock: tests drive every transition with a clock of their own.
 */
import { isPulseError } from '@pulse/core'
import { backoffDelay } from './backoff.ts'
import { isNetworkError, isUnauthorized, isUnavailable, NetworkError } from './errors.ts'
import {
  type AbortControllerLike,
  type AbortSignalLike,
  abortController,
  type Clock,
  type ConnectivityEvents,
  type WebSocketConstructor,
} from './platform.ts'
import { pullToEnd } from './puller.ts'
import { createPusher } from './pusher.ts'
import type { Replica } from './replica.ts'
import { type PushEvents, startResync } from './server-apply.ts'
import { finishCatchUp, openSocketLink, type SocketLink, type SocketRoutes } from './socket-link.ts'
import { httpChannel, type SyncChannel } from './sync-channel.ts'
import { createSyncReporter } from './sync-reporter.ts'
import type { StatusStore, SyncStatus } from './sync-status.ts'
import type { SyncTimings } from './sync-timings.ts'
import { createSyncWork } from './sync-work.ts'
import type { AuthProvider } from './transports/auth.ts'
import type { HttpApi } from './transports/http-api.ts'

/** The loop's states (see the diagram above). */
export type SyncStateName = 'idle' | 'offline' | 'connecting' | 'socket' | 'http' | 'backoff' | 'closed'

/** Every state change the loop may make; `go` refuses any other. */
export const TRANSITIONS: { readonly [S in SyncStateName]: readonly SyncStateName[] } = Object.freeze({
  idle: ['connecting', 'offline', 'closed'],
  offline: ['connecting', 'closed'],
  connecting: ['socket', 'http', 'backoff', 'offline', 'closed'],
  socket: ['connecting', 'backoff', 'offline', 'closed'],
  http: ['socket', 'backoff', 'offline', 'closed'],
  backoff: ['connecting', 'offline', 'closed'],
  closed: [],
})

type State =
  | { readonly name: 'idle' | 'offline' | 'closed' }
  | { readonly name: 'connecting'; readonly failures: number; readonly stop: AbortControllerLike }
  | { readonly name: 'socket'; readonly link: SocketLink }
  | { readonly name: 'http'; readonly stop: AbortControllerLike; cancelPoll: () => void }
  | { readonly name: 'backoff'; readonly failures: number; cancelRetry: () => void }

/** What `createSyncLoop` takes. */
export interface SyncLoopOptions {
  replica: Replica
  http: HttpApi
  /** Absent: HTTP only. */
  WebSocket: WebSocketConstructor | undefined
  wsUrl: string
  auth: AuthProvider | undefined
  status: StatusStore
  connectivity: ConnectivityEvents
  events: PushEvents
  timings: SyncTimings
  clock: Clock
  onError(error: unknown): void
  /** The server refused the credentials: the app refreshes them; the loop reconnects once this settles. */
  onUnauthorized?: (error: unknown) => void | Promise<void>
  /** The caller's scope changed (§8): the replica resyncs; refused mutations may be sent again. */
  onScopeChanged?: () => void
  random?: () => number
}

/** The running loop. */
export interface SyncLoop {
  /** The state now (tests and diagnostics). */
  readonly state: SyncStateName
  /** Calls `listener` after each change of state; returns the function that stops it. */
  watch(listener: (state: SyncStateName) => void): () => void
  /** Connects and keeps syncing until closed. Without it, `sync()` does one round over HTTP. */
  start(): void
  /** A local write happened: push soon. */
  localWrite(): void
  /** Pushes what may go now (mutations re-queued by the app). */
  pushSoon(): void
  /** Pulls to the end and pushes every mutation that may go now; rejects when the server cannot be reached. */
  sync(signal?: AbortSignalLike): Promise<void>
  close(): Promise<void>
}

const CONNECTION: { readonly [S in SyncStateName]: Pick<SyncStatus, 'online' | 'transport'> } = {
  idle: { online: false, transport: null },
  offline: { online: false, transport: null },
  connecting: { online: false, transport: null },
  socket: { online: true, transport: 'websocket' },
  http: { online: true, transport: 'http' },
  backoff: { online: false, transport: null },
  closed: { online: false, transport: null },
}

/** Creates the loop; nothing happens before `start`. */
export function createSyncLoop(options: SyncLoopOptions): SyncLoop {
  const { replica, status, timings, clock } = options
  const stopping = abortController()
  const reporter = createSyncReporter(replica, status, options.onError)
  const { report } = reporter
  const http = httpChannel(options.http, replica, { limit: timings.pullLimit, models: [...replica.schema.models.keys()], onError: report })
  let state: State = { name: 'idle' }
  let unwatch = (): void => {}
  const attempts = new Set<Promise<void>>()
  const socketOptions = { replica, url: options.wsUrl, auth: options.auth, timings, clock }
  const routes: SocketRoutes = {
    listening: (link) => state.name === 'socket' && state.link === link,
    poke: () => work.pullSoon(),
    scopeChanged: () => {
      changeScope()
      go(connecting(0))
    },
    lost: (error) => fail(error, 1),
    report: (error) => report(error),
  }
  const stateListeners = new Set<(state: SyncStateName) => void>()

  const pusher = createPusher({
    replica,
    maxBatch: timings.maxBatch,
    maxBatchChars: timings.maxBatchChars,
    retry: timings.retry,
    events: options.events,
    answered: reporter.synced,
    onError: report,
    ...(options.random ? { random: options.random } : {}),
  })
  const work = createSyncWork({
    replica,
    pusher,
    reporter,
    status,
    clock,
    pushDebounceMs: timings.pushDebounceMs,
    signal: stopping.signal,
    channel: () => channelNow(),
    failed: (channel, error) => workFailed(channel, error),
    resynced: (error) => resynced(error),
  })

  function go(next: State): void {
    if (!TRANSITIONS[state.name].includes(next.name)) {
      options.onError(new Error(`sync loop: no transition from ${state.name} to ${next.name}`))
      return
    }
    leave(state)
    state = next
    if (next.name !== 'socket' && next.name !== 'http') status.setCaughtUp(false)
    status.update(CONNECTION[next.name])
    enter(next)
    for (const listener of [...stateListeners]) listener(next.name)
  }

  function leave(old: State): void {
    if (old.name === 'connecting') old.stop.abort()
    else if (old.name === 'socket') old.link.session.close()
    else if (old.name === 'http') {
      old.stop.abort()
      old.cancelPoll()
    } else if (old.name === 'backoff') old.cancelRetry()
  }

  function enter(next: State): void {
    if (next.name === 'connecting') run(attempt(next))
    else if (next.name === 'http') {
      // Entered right after a pull to the end over HTTP.
      status.setCaughtUp(true)
      schedulePoll(next)
    } else if (next.name === 'socket') {
      status.setCaughtUp(true)
      work.pushSoon()
      if (next.link.poked) work.pullSoon()
    } else if (next.name === 'backoff') {
      next.cancelRetry = clock.after(backoffDelay(next.failures, timings.reconnect, options.random), () => {
        if (state === next) go(connecting(next.failures))
      })
    }
  }

  /** Keeps an attempt's promise until it settles, so `close()` can wait for it. */
  function run(attempt: Promise<void>): void {
    const running: Promise<void> = attempt.then(
      () => {
        attempts.delete(running)
      },
      (e: unknown) => {
        attempts.delete(running)
        report(e)
      },
    )
    attempts.add(running)
  }

  function schedulePoll(at: Extract<State, { name: 'http' }>): void {
    at.cancelPoll = clock.after(timings.pollIntervalMs, () => {
      if (state === at) run(attempt(at))
    })
  }

  function connecting(failures: number): State {
    return { name: 'connecting', failures, stop: abortController() }
  }

  /** Connecting failed, or the connection was lost: wait, and ask the app for credentials if they were refused. */
  function fail(error: unknown, failures: number): void {
    report(error)
    const next: State = { name: 'backoff', failures, cancelRetry: () => {} }
    go(next)
    if (!isUnauthorized(error) || !options.onUnauthorized) return
    Promise.resolve()
      .then(() => options.onUnauthorized?.(error))
      .then(
        // Fresh credentials: try again now, unless they were refused again right away (then the timer paces it).
        () => {
          if (state === next && failures <= 1) go(connecting(failures))
        },
        report,
      )
  }

  /** One try from `connecting` (or a poll from `http`): the socket, else a pull to the end over HTTP. */
  async function attempt(from: Extract<State, { name: 'connecting' | 'http' }>): Promise<void> {
    const failures = from.name === 'connecting' ? from.failures : 0
    for (;;) {
      const link = options.WebSocket
        ? await openSocketLink({ ...socketOptions, WebSocket: options.WebSocket, signal: from.stop.signal }, routes)
        : undefined
      if (link instanceof Error) return state === from ? fail(link, failures + 1) : undefined
      if (state !== from) return link?.session.close()
      if (link) {
        try {
          await finishCatchUp(replica, link, (channel) => reporter.track(pullToEnd(replica, channel, from.stop.signal, resynced)), resynced)
        } catch (e) {
          link.session.close()
          if (state === from) fail(e, failures + 1)
          return
        }
        if (state !== from) return link.session.close()
        if (link.scopeChanged) {
          // The scope changed while connecting: this socket's view is stale; resync on a new one.
          link.session.close()
          changeScope()
          continue
        }
        if (link.lost) return fail(link.lost, failures + 1)
        reporter.synced()
        go({ name: 'socket', link })
        return
      }
      try {
        await reporter.track(pullToEnd(replica, http, from.stop.signal, resynced))
      } catch (e) {
        if (state === from) fail(e, failures + 1)
        return
      }
      if (state !== from) return
      reporter.synced()
      if (from.name === 'http') {
        status.setCaughtUp(true)
        schedulePoll(from)
        work.pushSoon()
      } else go({ name: 'http', stop: abortController(), cancelPoll: () => {} })
      return
    }
  }

  /** The channel of the state now: the socket's, HTTP, or none while disconnected. */
  function channelNow(): SyncChannel | undefined {
    return state.name === 'socket' ? state.link.channel : state.name === 'http' ? http : undefined
  }

  function workFailed(channel: SyncChannel, error: unknown): void {
    if (channel !== channelNow()) return
    if (isNetworkError(error) || isUnauthorized(error) || isUnavailable(error)) fail(error, 1)
    else report(error)
  }

  /** A pull was refused for its cursor; a refusal for the caller's scope means refused mutations may now pass. */
  function resynced(error: unknown): void {
    if (isPulseError(error) && error.code === 'scope_changed') options.onScopeChanged?.()
  }

  /**
   * §8: the socket said the scope changed (and is about to close). The next connection pulls
   * from no cursor: the resync starts now (the cursor is cleared at once, its storing follows).
   */
  function changeScope(): void {
    startResync(replica).catch(report)
    options.onScopeChanged?.()
  }

  return {
    get state() {
      return state.name
    },
    watch(listener) {
      stateListeners.add(listener)
      return () => {
        stateListeners.delete(listener)
      }
    },
    start() {
      if (state.name !== 'idle') return
      unwatch = options.connectivity.watch(
        () => {
          if (state.name === 'offline' || state.name === 'backoff') go(connecting(0))
        },
        () => {
          if (state.name !== 'closed' && state.name !== 'offline') go({ name: 'offline' })
        },
      )
      go(options.connectivity.isOnline() ? connecting(0) : { name: 'offline' })
    },
    localWrite: () => work.localWrite(),
    pushSoon: () => work.pushSoon(),
    async sync(signal) {
      if (state.name === 'closed') throw new Error('the client is closed')
      if (state.name === 'idle') {
        // Manual syncing (autoSync off): one round over HTTP, nothing left running.
        await reporter.track(pullToEnd(replica, http, signal ?? stopping.signal, resynced))
        reporter.synced()
        await reporter.track(pusher.run(http))
        await replica.flushed()
        return
      }
      if (state.name === 'offline') throw new NetworkError('the platform reports no network')
      if (state.name === 'backoff') go(connecting(state.failures))
      if (state.name === 'connecting') await changed((s) => s.name !== 'connecting')
      const channel = channelNow()
      if (!channel) throw new NetworkError(status.get().lastError?.message ?? 'the server cannot be reached')
      await work.syncNow(channel, signal ?? stopping.signal)
    },
    async close() {
      if (state.name === 'closed') return
      go({ name: 'closed' })
      unwatch()
      stopping.abort()
      await Promise.allSettled([...attempts, work.stop()])
      status.update({ syncing: false })
    },
  }

  /** Resolves once the state satisfies `done`. */
  function changed(done: (s: State) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!done(state)) return
        stateListeners.delete(check)
        resolve()
      }
      stateListeners.add(check)
      check()
    })
  }
}
