/**
 * @pulse/client: the SDK an offline-first app embeds. `createClient` keeps the app's
 * records in a local store, applies writes at once and syncs them in the background; live
 * queries and the sync status are `{ subscribe, getSnapshot }` values for UI bindings.
 * The SQLite store is its own entry point: `@pulse/client/sqlite`.
 */
export { createClient, socketUrlOf } from './client.ts'
export type { Client, ClientOptions, ModelRef } from './client-types.ts'
export { isNetworkError, isProtocolError, NetworkError, ProtocolError } from './errors.ts'
export type { ClientEvents } from './events.ts'
export type { Live } from './live-queries.ts'
export type { LocalFlags, LocalRecord, LocalRecordOf, SyncErrorInfo } from './local-record.ts'
export type { OutboxCounts } from './outbox.ts'
export {
  type AbortSignalLike,
  type Clock,
  type ConnectivityEvents,
  type FetchLike,
  type RequestInitLike,
  type ResponseLike,
  systemClock,
  type WebSocketConstructor,
  type WebSocketLike,
} from './platform.ts'
export type { RetryOptions } from './pusher.ts'
export type { Comparison, Condition, OrderKey, Query, Where } from './query.ts'
export { MAX_REJECTED, type Rejection } from './rejections.ts'
export { createIndexedDbStore, type IndexedDbStoreOptions } from './stores/indexeddb-store.ts'
export type { IdbFactoryLike } from './stores/indexeddb-types.ts'
export type {
  JsonValue,
  LocalStore,
  MetaWrite,
  OutboxEntry,
  OutboxStatus,
  OutboxWrite,
  RecordWrite,
  StoreBatch,
  StoredRow,
} from './stores/local-store.ts'
export { createMemoryStore } from './stores/memory-store.ts'
export type { SyncStateName } from './sync-loop.ts'
export type { SyncStatus } from './sync-status.ts'
export { DEFAULT_TIMINGS, type SyncTimings } from './sync-timings.ts'
export type { BroadcastChannelConstructor, BroadcastChannelLike, LockManagerLike, TabsOptions } from './tabs/tab-channel.ts'
export type { AuthCredentials, AuthProvider } from './transports/auth.ts'
