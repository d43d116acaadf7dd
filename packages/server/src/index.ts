/**
 * @pulse/server: the engine, storage, and HTTP transport of Pulse.
 */
export { defineConfig, type PulseConfig, schemaOf } from './config.ts'
export { type Actor, type Context, SYSTEM_ACTOR, systemContext } from './engine/context.ts'
export { createEngine, type Engine, type EngineOptions, type ListPage, type ListRequest } from './engine/engine.ts'
export { toWire } from './engine/records.ts'
export { type CommittedChange, type WriteOp, type WriteOptions, type WriteOutcome } from './engine/write.ts'
export { createHttpServer, DEFAULT_BODY_LIMIT_BYTES, type HttpServerOptions } from './http/server.ts'
export { type RunningServer, type StartOptions, startServer } from './start.ts'
export { createPostgresStorage, createSqliteStorage, createStorage } from './storage/index.ts'
export {
  type ChangeEntry,
  type ChangeRow,
  type HistoryEntry,
  type ListQuery,
  type MigrationPlan,
  MigrationRefusedError,
  type MigrationStep,
  type Storage,
  type StorageTx,
  type StoredRecord,
} from './storage/storage.ts'
