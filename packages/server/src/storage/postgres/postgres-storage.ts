/**
 * Storage on PostgreSQL (pg). All of Pulse's tables live in one PostgreSQL schema (default
 * `public`), which `migrate` creates when missing; separate schemas keep separate Pulse
 * databases apart in one PostgreSQL database (tests run one schema per file, in parallel).
 */
import type { Conflict, ModelDefinition, Schema } from '@pulse/core'
import { PulseError } from '@pulse/core'
import { buildConflictQuery, decodeConflict } from '../conflict-rows.ts'
import { toStorageError } from '../connection-errors.ts'
import { buildListQuery } from '../list-query.ts'
import { decodeChange, decodeHistory } from '../log-rows.ts'
import { runMigration } from '../migrator.ts'
import { PULSE_TABLES } from '../naming.ts'
import { PURGED_POSITION_KEY, purgeTombstones } from '../purge.ts'
import { decodeRecord } from '../record-row.ts'
import { cutListPage, recordPage, sizesById } from '../record-size.ts'
import type { SqlContext } from '../sql-executor.ts'
import type { ChangeFilter, ConflictQuery, ListQuery, MigrationPlan, Storage, StorageTx } from '../storage.ts'
import { postgresDialect } from './postgres-dialect.ts'
import { createPostgresExecutor } from './postgres-executor.ts'
import { checkSchemaName, createPool, describeTarget, type PgClient, type PgResult, withClient } from './postgres-pool.ts'
import { modelStatements, readChangesQuery, SQL } from './postgres-statements.ts'
import { runTransaction } from './postgres-transaction.ts'
import { createPostgresTx, recordsById } from './postgres-tx.ts'

/** Options of `createPostgresStorage`. */
export interface PostgresStorageOptions {
  /** `postgres://user:password@host:port/database` */
  connectionString: string
  /** The PostgreSQL schema holding Pulse's tables: lowercase letters, digits, _ (default `public`). */
  schema?: string
  /** Most connections open at once (default 10). */
  poolSize?: number
  /** Told about failures of idle pooled connections, which the pool replaces (default: ignored). */
  onError?: (err: Error) => void
}

const codec = postgresDialect.codec
// Advisory lock keys: a constant class ("PULS") and a per-schema key, so Pulse databases in
// separate schemas do not wait for each other.
const LOCK_CLASS = 0x50554c53

function lockKey(schema: string, purpose: string): [number, number] {
  let h = 0x811c9dc5
  for (const ch of `${schema}:${purpose}`) h = Math.imul(h ^ (ch.codePointAt(0) ?? 0), 0x01000193)
  return [LOCK_CLASS, h | 0]
}

function checkPosition(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new PulseError('bad_request', `${name} must be an integer ≥ ${min}`)
}

/** A PostgreSQL database as a Storage. Connects lazily; call `migrate` before use. */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const schema = checkSchemaName(options.schema ?? 'public')
  const what = describeTarget(options.connectionString)
  const pool = createPool({
    connectionString: options.connectionString,
    schema,
    poolSize: options.poolSize ?? 10,
    onError: options.onError ?? (() => undefined),
  })
  const changesKey = lockKey(schema, 'changes')
  const migrateKey = lockKey(schema, 'migrate')
  let closed = false

  function open(): void {
    if (closed) throw new PulseError('database_unavailable', `cannot use ${what} (the storage is closed)`)
  }

  async function query(text: string, values: readonly unknown[], signal?: AbortSignal): Promise<PgResult> {
    open()
    signal?.throwIfAborted()
    try {
      return await pool.query(text, values)
    } catch (err) {
      throw toStorageError(err, what)
    }
  }

  function transaction<T>(fn: (client: PgClient) => Promise<T>, signal?: AbortSignal, commit = true): Promise<T> {
    open()
    return runTransaction(pool, what, fn, { signal, commit })
  }

  function migration(target: Schema, apply: boolean, allowDataLoss: boolean, signal?: AbortSignal): Promise<MigrationPlan> {
    return transaction(
      async (client) => {
        // One migration at a time per schema; CREATE … IF NOT EXISTS is not safe against a racer.
        await client.query(SQL.advisoryLock, migrateKey)
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
        return runMigration({ dialect: postgresDialect, exec: createPostgresExecutor(client) }, { schema: target, apply, allowDataLoss })
      },
      signal,
      apply,
    )
  }

  return {
    kind: 'postgres',

    planMigration: (target, signal) => migration(target, false, false, signal),

    migrate: (target, opts) => migration(target, true, opts?.allowDataLoss === true, opts?.signal),

    transaction<T>(fn: (tx: StorageTx) => Promise<T>, signal?: AbortSignal): Promise<T> {
      return transaction(async (client) => {
        let active = true
        try {
          return await fn(createPostgresTx(client, changesKey, () => active))
        } finally {
          active = false
        }
      }, signal)
    },

    async getRecord(model: ModelDefinition, id: string, signal?: AbortSignal) {
      const { rows } = await query(modelStatements(model).selectById, [id], signal)
      return rows[0] ? decodeRecord(codec, model, rows[0]) : undefined
    },

    async getRecords(model: ModelDefinition, ids: readonly string[], signal?: AbortSignal) {
      if (ids.length === 0) return new Map()
      return recordsById(model, (await query(modelStatements(model).selectByIds, [[...ids]], signal)).rows)
    },

    async recordSizes(model: ModelDefinition, ids: readonly string[], signal?: AbortSignal) {
      if (ids.length === 0) return new Map()
      return sizesById((await query(modelStatements(model).selectSizesByIds, [[...ids]], signal)).rows)
    },

    listPage(model: ModelDefinition, list: ListQuery, maxBytes: number, signal?: AbortSignal) {
      const sizes = buildListQuery(postgresDialect, model, { ...list, limit: list.limit + 1 }, 'sizes')
      return transaction(
        async (client) => {
          // One snapshot: the records loaded are the ones the sizes were read from.
          await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
          const { ids, more } = cutListPage((await client.query(sizes.sql, [...sizes.parameters])).rows, list.limit, maxBytes)
          if (ids.length === 0) return { records: [], more }
          return recordPage(ids, recordsById(model, (await client.query(modelStatements(model).selectByIds, [ids])).rows), more)
        },
        signal,
        false,
      )
    },

    async listRecords(model: ModelDefinition, list: ListQuery, signal?: AbortSignal) {
      const compiled = buildListQuery(postgresDialect, model, list)
      const { rows } = await query(compiled.sql, compiled.parameters, signal)
      return rows.map((row) => decodeRecord(codec, model, row))
    },

    async listHistory(model: ModelDefinition, recordId: string, signal?: AbortSignal) {
      const { rows } = await query(SQL.selectHistory, [model.name, recordId, 0], signal)
      return rows.map((row) => decodeHistory(codec, row))
    },

    async readChanges(after: number, limit: number, filter?: ChangeFilter, signal?: AbortSignal) {
      checkPosition('after', after, 0)
      checkPosition('limit', limit, 1)
      const q = readChangesQuery(after, limit, filter)
      return (await query(q.sql, q.params, signal)).rows.map(decodeChange)
    },

    purgeTombstones: (before: string, signal?: AbortSignal) =>
      transaction((client) => purgeTombstones({ dialect: postgresDialect, exec: createPostgresExecutor(client) }, before), signal),

    async sqlRead<T>(fn: (ctx: SqlContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
      signal?.throwIfAborted()
      // Each statement on any pooled connection: reads need no transaction of their own.
      const exec = createPostgresExecutor({
        query: (text: string, values?: readonly unknown[]) => query(text, values ?? [], signal),
      } as PgClient)
      return fn({ dialect: postgresDialect, exec })
    },

    sqlTransaction: <T>(fn: (ctx: SqlContext) => Promise<T>, signal?: AbortSignal): Promise<T> =>
      transaction((client) => fn({ dialect: postgresDialect, exec: createPostgresExecutor(client) }), signal),

    async headPosition(signal?: AbortSignal) {
      const { rows } = await query(`SELECT COALESCE(MAX("seq"), 0) AS "head" FROM "${PULSE_TABLES.changes}"`, [], signal)
      return Number(rows[0]?.head ?? 0) || 0
    },

    async purgedPosition(signal?: AbortSignal) {
      const { rows } = await query(SQL.getMeta, [PURGED_POSITION_KEY], signal)
      return Number(rows[0]?.value ?? 0) || 0
    },

    async listConflicts(conflicts: ConflictQuery, signal?: AbortSignal): Promise<Conflict[]> {
      const compiled = buildConflictQuery(postgresDialect, conflicts)
      const { rows } = await query(compiled.sql, compiled.parameters, signal)
      return rows.map((row) => decodeConflict(codec, row))
    },

    async probe(signal?: AbortSignal) {
      open()
      signal?.throwIfAborted()
      await withClient(pool, what, async (client) => {
        const token = crypto.randomUUID()
        await client.query(SQL.setMeta, ['probe', token])
        const { rows } = await client.query(SQL.getMeta, ['probe'])
        if (rows[0]?.value !== token) throw new Error('probe: the value read back differs from the one written')
      })
    },

    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}
