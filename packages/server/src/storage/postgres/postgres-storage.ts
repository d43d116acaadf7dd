/**
 * Storage on PostgreSQL (pg). All of Pulse's tables live in one PostgreSQL schema (default
 * `public`), which `migrate` creates when missing; separate schemas keep separate Pulse
 * databases apart in one PostgreSQL database (tests run one schema per file, in parallel).
 * Transactions run at READ COMMITTED: records read for writing are locked (`FOR UPDATE`).
 */
import { type CompiledQuery, type DatabaseConnection, type QueryResult, sql } from 'kysely'
import { createSession, type SqlDriver, type SqlSession } from '../dialect.ts'
import { createSqlStorage } from '../sql-storage.ts'
import type { SqlStorage } from '../storage.ts'
import { CHANGES_SEQUENCE, postgresDialect } from './postgres-dialect.ts'
import { checkSchemaName, createPool, describeTarget, transactionOn } from './postgres-pool.ts'
import { type ChangeLockKeys, type PgQuery, postgresStatements } from './postgres-statements.ts'

/** Options of `createPostgresStorage`. */
export interface PostgresStorageOptions {
  /** `postgres://user:password@host:port/database` */
  connectionString: string
  /** The PostgreSQL schema holding Pulse's tables: lowercase letters, digits, _ (default `public`). */
  schema?: string
  /** Most connections open at once (default 10). */
  poolSize?: number
  /** Told about failures of idle pooled connections, which the pool replaces (default: a line on stderr). */
  onError?: (err: Error) => void
}

// Advisory lock keys: a constant class ("PULS") and a per-schema key, so Pulse databases in
// separate schemas do not wait for each other.
const LOCK_CLASS = 0x50554c53

function lockKey(schema: string, purpose: string): [number, number] {
  let h = 0x811c9dc5
  for (const ch of `${schema}:${purpose}`) h = Math.imul(h ^ (ch.codePointAt(0) ?? 0), 0x01000193)
  return [LOCK_CLASS, h | 0]
}

/** `query` as Kysely's connection. */
function kyselyConnection(query: PgQuery): DatabaseConnection {
  return {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      const { rows, rowCount } = await query(compiled.sql, compiled.parameters)
      return { rows: rows as R[], ...(rowCount === null ? {} : { numAffectedRows: BigInt(rowCount) }) }
    },
    streamQuery(): AsyncIterableIterator<QueryResult<never>> {
      throw new Error('Pulse does not stream queries')
    },
  }
}

/** A PostgreSQL database as a Storage. Connects lazily; call `migrate` before use. */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<SqlStorage> {
  const schema = checkSchemaName(options.schema ?? 'public')
  const describe = describeTarget(options.connectionString)
  const pool = createPool({
    connectionString: options.connectionString,
    schema,
    poolSize: options.poolSize ?? 10,
    onError:
      options.onError ?? ((err) => console.error(`pulse: an idle connection to ${describe} failed (the pool replaces it): ${err.message}`)),
  })
  const changeKeys: ChangeLockKeys = { allocate: lockKey(schema, 'allocate'), pendingClass: lockKey(schema, 'pending')[1] }
  const migrateKey = lockKey(schema, 'migrate')
  const sessionOn = (query: PgQuery): SqlSession =>
    createSession(postgresDialect, kyselyConnection(query), postgresStatements(query, changeKeys))
  // Reads outside transactions: each statement on any pooled connection.
  const anyConnection = sessionOn((text, values) => pool.query(text, values))

  const driver: SqlDriver = {
    dialect: postgresDialect,
    describe,

    write: (fn, { commit = true } = {}) => transactionOn(pool, (client) => fn(sessionOn((t, v) => client.query(t, v))), commit),

    read: (fn, { snapshot = false } = {}) =>
      snapshot
        ? transactionOn(
            pool,
            async (client) => {
              await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
              return fn(sessionOn((t, v) => client.query(t, v)))
            },
            false,
          )
        : fn(anyConnection),

    async prepareMigration(s) {
      // One migration at a time per schema; CREATE … IF NOT EXISTS is not safe against a racer.
      await sql`SELECT pg_advisory_xact_lock(${migrateKey[0]}, ${migrateKey[1]})`.execute(s.db)
      await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(s.db)
      await sql`CREATE SEQUENCE IF NOT EXISTS ${sql.id(CHANGES_SEQUENCE)}`.execute(s.db)
    },

    close: () => pool.end(),
  }
  return createSqlStorage(driver)
}
