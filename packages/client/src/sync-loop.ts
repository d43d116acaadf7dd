/**
 * The sync loop (issue 4 part 3): WebSocket first (§6), HTTP pull and push when the socket
 * cannot connect; automatic on start, on reconnect and after local writes (debounced);
 * reconnects with jittered exponential backoff; follows the platform's online/offline events
 * and treats unanswered requests as offline. Background failures go to `onError` (network
 * failures only to the status: being offline is expected).
 */
import { isPulseError } from '@pulse/core'
import { type BackoffOptions, backoffDelay } from './backoff.ts'
import { isNetworkError, NetworkError } from './errors.ts'
import {
  type AbortControllerLike,
  type AbortSignalLike,
  abortController,
  after,
  type ConnectivityEvents,
  type WebSocketConstructor,
} from './platform.ts'
import { pullToEnd } from './puller.ts'
import { createPusher, type RetryOptions } from './pusher.ts'
import type { Replica } from './replica.ts'
import { type PushEvents, startResync } from './server-apply.ts'
import { httpChannel, openSocketChannel, type SyncChannel } from './sync-channel.ts'
import { createSyncReporter } from './sync-reporter.ts'
import type { StatusStore } from './sync-status.ts'
import type { AuthProvider } from './transports/auth.ts'
import type { HttpApi } from './transports/http-api.ts'
import type { SocketSession } from './transports/socket-session.ts'

/** Timings and limits of the loop. */
export interface SyncTimings {
  /** Wait after a local write before pushing, to batch a burst of edits. */
  readonly pushDebounceMs: number
  /** Over HTTP (no socket), how often to pull, push and try the socket again. */
  readonly pollIntervalMs: number
  /** Delays between reconnection attempts. */
  readonly reconnect: BackoffOptions
  readonly connectTimeoutMs: number
  readonly pingIntervalMs: number
  readonly deadAfterMs: number
  /** HTTP pull page size. */
  readonly pullLimit: number
  /** Most mutations per push. */
  readonly maxBatch: number
  /** Most characters of JSON per push (the server's default frame limit is 1 MiB). */
  readonly maxBatchChars: number
  readonly retry: RetryOptions
}

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
  onError(error: unknown): void
  random?: () => number
}

/** The running loop. */
export interface SyncLoop {
  /** Connects and keeps syncing until closed. Without it, `sync()` does one round over HTTP. */
  start(): void
  /** A local write happened: push soon. */
  localWrite(): void
  /** Pulls to the end and pushes every mutation that may go now; rejects when the server cannot be reached. */
  sync(signal?: AbortSignalLike): Promise<void>
  /** Sends FAILED mutations again (under new `mid`s); resolves with how many. */
  retryFailed(): Promise<number>
  close(): Promise<void>
}

/** Creates the loop; nothing happens before `start`. */
export function createSyncLoop(options: SyncLoopOptions): SyncLoop {
  const { replica, status, timings } = options
  const models = [...replica.schema.models.keys()]
  const stopping: AbortControllerLike = abortController()
  const http = httpChannel(options.http, replica, timings.pullLimit, models)
  let closed = false
  let started = false
  let platformOffline = !options.connectivity.isOnline()
  let session: SocketSession | undefined
  let channel: SyncChannel | undefined
  let connecting: Promise<void> | undefined
  let failures = 0
  let pulling: Promise<void> | undefined
  let pushing: Promise<void> | undefined
  let pullAgain = false
  let cancelReconnect = noop
  let cancelPoll = noop
  let cancelPush = noop
  let cancelDebounce: (() => void) | undefined
  let unwatch = noop

  const { report, track, synced } = createSyncReporter(replica, status, options.onError)

  /** The channel stopped answering: drop it and reconnect later. */
  function lost(gone: SyncChannel | undefined, error: unknown): void {
    if (!gone || gone !== channel || closed) return
    if (gone?.kind === 'websocket') session?.close()
    session = undefined
    channel = undefined
    status.update({ online: false, transport: null })
    report(error)
    scheduleReconnect()
  }

  function scheduleReconnect(): void {
    cancelReconnect()
    if (closed || platformOffline) return
    failures += 1
    cancelReconnect = after(backoffDelay(failures, timings.reconnect, options.random), () => {
      connect().catch(report)
    })
  }

  const pusher = createPusher({
    replica,
    maxBatch: timings.maxBatch,
    maxBatchChars: timings.maxBatchChars,
    retry: timings.retry,
    events: options.events,
    answered: synced,
    ...(options.random ? { random: options.random } : {}),
  })

  /** The socket channel, or undefined when there is no socket or it cannot be opened. */
  async function openSocket(): Promise<{ session: SocketSession; channel: SyncChannel } | undefined> {
    if (!options.WebSocket) return undefined
    try {
      return await openSocketChannel({
        replica,
        WebSocket: options.WebSocket,
        url: options.wsUrl,
        auth: options.auth,
        timings,
        signal: stopping.signal,
        events: options.events,
        poke: () => pullSoon(),
        error: report,
        closed: lost,
      })
    } catch (e) {
      // The server refused us (not unreachable): worth telling; HTTP is tried next all the same.
      if (isPulseError(e)) report(e)
      return undefined
    }
  }

  async function establish(): Promise<void> {
    cancelReconnect()
    cancelPoll()
    if (closed || platformOffline || session) return
    const opened = await openSocket()
    if (opened && (closed || platformOffline)) opened.session.close()
    if (closed || platformOffline) return
    if (opened) {
      session = opened.session
      channel = opened.channel
      failures = 0
      status.update({ online: true, transport: 'websocket', lastError: null })
      // Catch-up is over; one pull settles a refused cursor (from no cursor) or a catch-up cut short.
      if (opened.session.resyncNeeded) await startResync(replica)
      pullSoon()
      pushSoon()
      return
    }
    try {
      await track(pullToEnd(replica, http, stopping.signal))
      if (closed || platformOffline) return
      channel = http
      failures = 0
      status.update({ online: true, transport: 'http', lastError: null })
      synced()
      pushSoon()
      cancelPoll = after(timings.pollIntervalMs, () => {
        connect().catch(report)
      })
    } catch (e) {
      if (channel === http) channel = undefined
      if (closed) return
      status.update({ online: false, transport: null })
      report(e)
      scheduleReconnect()
    }
  }

  function connect(): Promise<void> {
    connecting ??= establish().finally(() => {
      connecting = undefined
    })
    return connecting
  }

  function pullSoon(): void {
    const through = channel
    if (!through) return
    if (pulling) {
      pullAgain = true
      return
    }
    pulling = (async () => {
      do {
        pullAgain = false
        await track(pullToEnd(replica, through, stopping.signal))
        synced()
      } while (pullAgain && channel === through)
    })()
      .catch((e: unknown) => (isNetworkError(e) ? lost(through, e) : report(e)))
      .finally(() => {
        pulling = undefined
      })
  }

  async function push(): Promise<void> {
    cancelPush()
    const through = channel
    if (!through || closed) return
    try {
      pushing = pusher.run(through)
      await track(pushing)
    } finally {
      // Mutations waiting out a backoff go when it ends.
      const due = replica.outbox.nextDueAt()
      if (due !== undefined && due > Date.now() && !closed) cancelPush = after(due - Date.now(), pushSoon)
    }
  }

  function pushSoon(): void {
    const through = channel
    push().catch((e: unknown) => (isNetworkError(e) ? lost(through, e) : report(e)))
  }

  function online(): void {
    platformOffline = false
    failures = 0
    connect().catch(report)
  }

  function offline(): void {
    platformOffline = true
    cancelReconnect()
    cancelPoll()
    session?.close()
    session = undefined
    channel = undefined
    status.update({ online: false, transport: null })
  }

  return {
    start() {
      started = true
      unwatch = options.connectivity.watch(online, offline)
      if (platformOffline) status.update({ online: false })
      connect().catch(report)
    },
    localWrite() {
      if (cancelDebounce || closed || !started) return
      cancelDebounce = after(timings.pushDebounceMs, () => {
        cancelDebounce = undefined
        pushSoon()
      })
    },
    async sync(signal) {
      if (closed) throw new Error('the client is closed')
      if (!started) {
        // Manual syncing (autoSync off): one round over HTTP, nothing left running.
        await track(pullToEnd(replica, http, signal ?? stopping.signal))
        synced()
        await track(pusher.run(http))
        await replica.flushed()
        return
      }
      if (platformOffline) throw new NetworkError('the platform reports no network')
      if (!channel) await connect()
      const through = channel
      if (!through) throw new NetworkError(status.get().lastError?.message ?? 'the server cannot be reached')
      try {
        await track(pullToEnd(replica, through, signal ?? stopping.signal))
        synced()
        await push()
      } catch (e) {
        if (isNetworkError(e)) lost(through, e)
        throw e
      }
      await replica.flushed()
    },
    async retryFailed() {
      const failed = replica.outbox.list().filter((e) => e.status === 'FAILED')
      if (failed.length === 0) return 0
      const txn = replica.begin()
      for (const entry of failed) replica.outbox.renumber({ ...entry, lastError: null }, txn.batch)
      await replica.end(txn)
      pushSoon()
      return failed.length
    },
    async close() {
      if (closed) return
      closed = true
      for (const stop of [cancelReconnect, cancelPoll, cancelPush, cancelDebounce ?? noop, unwatch]) stop()
      cancelDebounce = undefined
      stopping.abort()
      session?.close()
      session = undefined
      channel = undefined
      await Promise.allSettled([connecting, pulling, pushing])
      status.update({ online: false, transport: null, syncing: false })
    },
  }
}

function noop(): void {}
