/**
 * @pulse/server: the engine, storage, and HTTP transport of Pulse.
 */

export type { AccountTables } from './accounts/account-tables.ts'
export {
  type Accounts,
  type AccountsOptions,
  type Authenticated,
  type CredentialRef,
  createAccounts,
  type PublicUser,
  type Session,
} from './accounts/accounts.ts'
export type { LoginThrottleOptions } from './accounts/login-throttle.ts'
export { type AccessTokens, createAccessTokens, DEFAULT_ACCESS_TTL_SECONDS } from './auth/access-tokens.ts'
export { checkPasswordPolicy } from './auth/password-policy.ts'
export { resolveSecret, SecretError, weakSecretReason } from './auth/secret.ts'
export { type Bus, type BusChange, type BusErrorHandler, type BusMessage, isBusMessage } from './bus/bus.ts'
export { type ControlMessage, isControlMessage } from './bus/control.ts'
export { createMemoryBus, type MemoryBusOptions } from './bus/memory-bus.ts'
export { publishCommits, toBusMessage } from './bus/publish-commits.ts'
export { createRedisBus, DEFAULT_BUS_CHANNEL, type RedisBusOptions } from './bus/redis-bus.ts'
export { defineConfig, type PulseConfig, schemaOf } from './config.ts'
export { SERVER_CLOCK_ID } from './engine/clock-rules.ts'
export { type ConflictListRequest, type ConflictPage, type ConflictPosition, MAX_CONFLICTS_LISTED } from './engine/conflict-list.ts'
export { type Actor, type Context, SYSTEM_ACTOR, systemContext } from './engine/context.ts'
export { createEngine, type Engine, type EngineOptions, type ListPage, type ListRequest } from './engine/engine.ts'
export { toWire } from './engine/records.ts'
export type { CommittedChange, WriteOp, WriteOptions, WriteOutcome } from './engine/write.ts'
export { type Authenticator, createAuthenticator } from './http/authenticate.ts'
export type { LogFormat, LoggerSettings } from './http/logger.ts'
export { createHttpServer, DEFAULT_BODY_LIMIT_BYTES, type HttpServerOptions } from './http/server.ts'
export { createHub, type Hub, type HubOptions } from './realtime/hub.ts'
export { type Authenticate, DEFAULT_HELLO_TIMEOUT_MS } from './realtime/session.ts'
export { DEFAULT_MAX_FRAME_BYTES, type RealtimeOptions, registerRealtime, systemAuthenticate } from './realtime/socket.ts'
export { SETTINGS, type ServerSettings, type SettingName, type SettingSpec, type SettingValue } from './settings.ts'
export {
  flagsOf,
  type ResolvedSettings,
  resolveSettings,
  type SettingSource,
  SettingsError,
  type SettingsInput,
  toStartOptions,
} from './settings-resolve.ts'
export type { SettingType } from './settings-types.ts'
export { type AuthOptions, DEFAULT_SHUTDOWN_TIMEOUT_MS, type RunningServer, type StartOptions, startServer } from './start.ts'
export type { Database } from './storage/database.ts'
export { createPostgresStorage, createSqliteStorage, createStorage } from './storage/index.ts'
export {
  type ChangeEntry,
  type ChangeRow,
  type HistoryEntry,
  type ListQuery,
  type MigrationPlan,
  MigrationRefusedError,
  type MigrationStep,
  type PushRefusal,
  type SqlDatabase,
  type SqlStorage,
  type Storage,
  type StorageTx,
  type StoredRecord,
} from './storage/storage.ts'
