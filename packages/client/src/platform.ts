/**
 * The platform the client runs on, seen structurally: timers, abort signals, fetch, WebSocket
 * and the browser's connectivity events. The client's logic compiles without the DOM or Node
 * libraries; each piece is read from `globalThis` once, or injected through the options.
 */

/** An abort signal as the client uses it (the DOM's and Node's `AbortSignal` fit). */
export interface AbortSignalLike {
  readonly aborted: boolean
  readonly reason?: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/** An abort controller (the platform's). */
export interface AbortControllerLike {
  readonly signal: AbortSignalLike
  abort(reason?: unknown): void
}

/** The parts of a fetch `Response` the client reads. */
export interface ResponseLike {
  readonly status: number
  readonly ok: boolean
  text(): Promise<string>
}

/** What a fetch call may carry. */
export interface RequestInitLike {
  method?: string
  headers?: Record<string, string>
  body?: string
  signal?: AbortSignalLike
}

/** A `fetch` function (the platform's, or a test's). */
export type FetchLike = (url: string, init?: RequestInitLike) => Promise<ResponseLike>

/** The events of a WebSocket the client listens to. */
export interface WebSocketEventMap {
  open: unknown
  message: { readonly data: unknown }
  close: { readonly code: number; readonly reason: string }
  error: unknown
}

/** A WebSocket as the client uses it (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener<K extends keyof WebSocketEventMap>(type: K, listener: (event: WebSocketEventMap[K]) => void): void
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** A timer handle: whatever the platform's setTimeout returns. */
export type TimerHandle = unknown

/** The globals the client may find, each optional except timers. */
interface Globals {
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  AbortController?: new () => AbortControllerLike
  fetch?: FetchLike
  WebSocket?: WebSocketConstructor
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
  navigator?: { onLine?: boolean }
}

const globals = globalThis as unknown as Globals

/** Calls `callback` after `ms`; returns the function that cancels it. Node timers do not keep the process alive. */
export function after(ms: number, callback: () => void): () => void {
  const handle = globals.setTimeout(callback, Math.max(0, ms))
  // Node: a pending retry must not hold the process open; browsers have no unref.
  ;(handle as { unref?: () => void } | undefined)?.unref?.()
  return () => globals.clearTimeout(handle)
}

/**
 * Time and timers, as every part of the client reads them: the platform's by default, a test's
 * (advanced by hand) when injected through `ClientOptions.clock`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Calls `callback` after `ms`; returns the function that cancels it. */
  after(ms: number, callback: () => void): () => void
}

/** The platform's clock: `Date.now` and `setTimeout` (unref'd in Node). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now(), after })

/** A new abort controller. */
export function abortController(): AbortControllerLike {
  if (!globals.AbortController) throw new Error('no AbortController on this platform: install a polyfill')
  return new globals.AbortController()
}

/** The platform's fetch, bound, if it has one. */
export function platformFetch(): FetchLike | undefined {
  const f = globals.fetch
  return f ? (url, init) => f.call(globalThis, url, init) : undefined
}

/** The platform's WebSocket constructor, if it has one. */
export function platformWebSocket(): WebSocketConstructor | undefined {
  return globals.WebSocket
}

/** Connectivity as the platform reports it (browsers): `online`/`offline` events and `navigator.onLine`. */
export interface ConnectivityEvents {
  /** False only when the platform says it is offline. */
  isOnline(): boolean
  /** Listens to changes; returns the function that stops listening. */
  watch(onOnline: () => void, onOffline: () => void): () => void
}

/** The browser's connectivity events, or a platform that never reports going offline (Node). */
export function platformConnectivity(): ConnectivityEvents {
  const add = globals.addEventListener
  const remove = globals.removeEventListener
  return {
    isOnline: () => globals.navigator?.onLine !== false,
    watch(onOnline, onOffline) {
      if (typeof add !== 'function' || typeof remove !== 'function') return () => {}
      add.call(globalThis, 'online', onOnline)
      add.call(globalThis, 'offline', onOffline)
      return () => {
        remove.call(globalThis, 'online', onOnline)
        remove.call(globalThis, 'offline', onOffline)
      }
    },
  }
}

/** Rejects with the signal's reason when it is aborted; `what` names the operation. */
export function throwIfAborted(signal: AbortSignalLike | undefined, what: string): void {
  if (signal?.aborted) throw signal.reason ?? abortError(what)
}

/** The error an aborted operation rejects with. */
export function abortError(what: string): Error {
  const error = new Error(`${what} was aborted`)
  error.name = 'AbortError'
  return error
}
