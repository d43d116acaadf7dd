/** The public shape of a client: its options and its methods. */
import type { Conflict, CreateInput, ModelDefinition, UpdateInput } from '@pulse/core'
import type { ClientEvents } from './events.ts'
import type { Live } from './live-queries.ts'
import type { LocalRecordOf } from './local-record.ts'
import type { AbortSignalLike, Clock, ConnectivityEvents, FetchLike, WebSocketConstructor } from './platform.ts'
import type { RetryOptions } from './pusher.ts'
import type { Query } from './query.ts'
import type { Rejection } from './rejections.ts'
import type { LocalStore, OutboxEntry } from './stores/local-store.ts'
import type { SyncStatus } from './sync-status.ts'
import type { SyncTimings } from './sync-timings.ts'
import type { TabsOptions } from './tabs/tab-channel.ts'
import type { AuthProvider } from './transports/auth.ts'

/** What `createClient` takes. */
export interface ClientOptions {
  /** The server's base URL, e.g. `https://sync.example.com` (the socket is `<url>/ws`, `http` → `ws`). */
  url: string
  /** The synced models: the same definitions the server's configuration uses (or a subset: selective sync). */
  models: readonly ModelDefinition[]
  /** Where records, outbox and sync state are kept; the client owns it and closes it on `close()`. */
  store: LocalStore
  /** Credentials for each request and socket hello (§9); absent for a server without accounts. */
  auth?: AuthProvider
  /** The device id (with accounts: the device the login registered). Default: the store's, or a new one. */
  clientId?: string
  /** Default: the platform's fetch. */
  fetch?: FetchLike
  /** Default: the platform's WebSocket; `null` syncs over HTTP only. */
  WebSocket?: WebSocketConstructor | null
  /** Default: derived from `url`. */
  wsUrl?: string
  /** Where background failures go (default: console.error). Network failures only show in the status. */
  onError?: (error: unknown) => void
  /**
   * The server refused the credentials (§7 `unauthenticated`: an expired or revoked token).
   * Refresh them here (`auth` is asked again before the next attempt); once the returned promise
   * settles the client reconnects at once, else after its usual backoff.
   */
  onUnauthorized?: (error: unknown) => void | Promise<void>
  /** Connect and sync by itself (default true). Off: nothing runs until `sync()`, which does one round over HTTP. */
  autoSync?: boolean
  /** Default: the browser's online/offline events (none in Node). */
  connectivity?: ConnectivityEvents
  /** Timings and limits (defaults in `DEFAULT_TIMINGS`). */
  timings?: Partial<Omit<SyncTimings, 'retry'>> & { retry?: Partial<RetryOptions> }
  /** Time and timers (default: the platform's); tests inject one they advance by hand. */
  clock?: Clock
  /**
   * Tabs of one origin sharing the store: one tab at a time owns it (syncs, keeps the outbox),
   * the others write through it and see every change live; when it closes or crashes another
   * takes over. On by default for a store other tabs can open (IndexedDB) where the platform
   * has Web Locks and BroadcastChannel; `false` turns it off (then never open one store in two tabs).
   */
  tabs?: TabsOptions | false
}

/** A model given by definition (typed records) or by name. */
export type ModelRef<M extends ModelDefinition> = M | string

/** The client. Its methods are plain functions: they may be passed around unbound. */
export interface Client {
  /** Resolves once the local store is loaded; rejects if it cannot be. */
  readonly ready: Promise<void>
  /** The device id, once ready. */
  readonly clientId: string | undefined
  /** Creates a record locally (optimistic); it syncs in the background. Resolves once it is stored locally. */
  create<M extends ModelDefinition>(model: ModelRef<M>, data: CreateInput<M>): Promise<LocalRecordOf<M>>
  /** Changes fields of a record locally. Rejects with `not_found` or `validation_failed`. */
  update<M extends ModelDefinition>(model: ModelRef<M>, id: string, patch: UpdateInput<M>): Promise<LocalRecordOf<M>>
  /** Deletes a record locally. Rejects with `not_found`. */
  delete(model: ModelRef<ModelDefinition>, id: string): Promise<void>
  /** A live record by id, or undefined. */
  get<M extends ModelDefinition>(model: ModelRef<M>, id: string): Promise<LocalRecordOf<M> | undefined>
  /** The live records matching a query. */
  query<M extends ModelDefinition>(model: ModelRef<M>, query?: Query<LocalRecordOf<M>>): Promise<LocalRecordOf<M>[]>
  /** A query's results as a live value; the snapshot is undefined until the store is loaded. */
  live<M extends ModelDefinition>(model: ModelRef<M>, query?: Query<LocalRecordOf<M>>): Live<readonly LocalRecordOf<M>[] | undefined>
  /** One record as a live value: undefined until loaded, null when absent or deleted. */
  liveRecord<M extends ModelDefinition>(model: ModelRef<M>, id: string): Live<LocalRecordOf<M> | null | undefined>
  /** The sync status now (a snapshot that changes identity only when a field changes). */
  status(): SyncStatus
  /** Calls `listener` after each status change; returns the unsubscribe function. */
  subscribeStatus(listener: () => void): () => void
  /** The outbox now, in `mid` order (empty until ready): what waits to be sent, and what gave up (FAILED). */
  outbox(): readonly OutboxEntry[]
  /**
   * The mutations the server refused (`kind: 'rejected'`, with its reason) or that gave up after
   * their last attempt (`kind: 'failed'`), oldest first: the same array until one changes. A
   * refused record shows the server's state with `syncError`. Empty until ready.
   */
  rejections(): readonly Rejection[]
  /** Calls `listener` after each change of `rejections()`; returns the unsubscribe function. */
  subscribeRejections(listener: () => void): () => void
  /** Sends refused mutations again (those with these `mid`s, or all), as new mutations; resolves with how many. */
  retryRejections(mids?: readonly number[]): Promise<number>
  /** Forgets refused mutations (those with these `mid`s, or all): their records show the server's state; resolves with how many. */
  discardRejections(mids?: readonly number[]): Promise<number>
  /**
   * Resolves once the client is up to date: nothing waits to be pushed (refused mutations do not
   * count: see `rejections()`) and the last pull reached the server's head (`status().upToDate`).
   * Waits through offline periods; rejects when `signal` aborts or the client closes.
   */
  whenSynced(options?: { signal?: AbortSignalLike }): Promise<void>
  /** Pulls to the end and pushes what may go; rejects when the server cannot be reached. */
  sync(options?: { signal?: AbortSignalLike }): Promise<void>
  /** Re-queues FAILED mutations; resolves with how many. */
  retryFailed(): Promise<number>
  /** The caller's conflicts on the server (§5). */
  conflicts(options?: { status?: 'open' | 'resolved'; signal?: AbortSignalLike }): Promise<Conflict[]>
  /** Settles a conflict (§5); the resulting record is applied locally and returned. */
  resolveConflict(
    id: string,
    choice: 'local' | 'remote' | 'custom',
    data?: Record<string, unknown>,
    options?: { signal?: AbortSignalLike },
  ): Promise<{ conflict: Conflict; record: LocalRecordOf<ModelDefinition> | undefined }>
  /** Listens to an event; returns the function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void
  /** Stops syncing, waits for local writes to be stored, closes the store. */
  close(): Promise<void>
}
