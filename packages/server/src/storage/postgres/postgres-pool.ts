/**
 * The pg pool of one PostgreSQL storage: every connection starts with Pulse's schema as its
 * search_path and UTC as its time zone, and parses values with Pulse's type parsers. The driver
 * is typed structurally: only the methods Pulse calls.
 */
import pg from 'pg'
import { unavailableReason } from '../connection-errors.ts'
import { pulseTypes } from './postgres-types.ts'

/** A query result: rows as objects, and how many rows a write touched. */
export interface PgResult {
  rows: Record<string, unknown>[]
  rowCount: number | null
}

/** The parts of a pooled pg client Pulse calls. */
export interface PgClient {
  query(text: string, values?: readonly unknown[]): Promise<PgResult>
  release(err?: Error | boolean): void
  on(event: 'error', listener: (err: Error) => void): unknown
  removeListener(event: 'error', listener: (err: Error) => void): unknown
}

/** The parts of a pg pool Pulse calls. */
export interface PgPool {
  connect(): Promise<PgClient>
  /** One statement on any idle client (autocommit). */
  query(text: string, values?: readonly unknown[]): Promise<PgResult>
  end(): Promise<void>
}

/** Where to connect and how. */
export interface PgPoolOptions {
  connectionString: string
  /** A lowercase PostgreSQL schema name (letters, digits, _). */
  schema: string
  poolSize: number
  /** Errors of idle connections (the server restarted, the network dropped): the pool replaces them. */
  onError: (err: Error) => void
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Checks a schema name: it reaches a connection option, so only plain lowercase names pass. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}": use lowercase letters, digits and _`)
  return schema
}

/** Creates the pool; connections are opened lazily, on first use. */
export function createPool(options: PgPoolOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    // search_path makes unqualified names mean Pulse's schema (nothing lands in public by
    // accident); UTC makes timestamps print in the form parseTimestamp expects.
    options: `-c search_path=${checkSchemaName(options.schema)} -c TimeZone=UTC`,
    types: pulseTypes,
    connectionTimeoutMillis: 10_000,
  })
  pool.on('error', options.onError)
  return pool as unknown as PgPool
}

/** "host:port/database" of a connection string, without credentials, for error messages. */
export function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString)
    return `PostgreSQL at ${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`
  } catch {
    return 'PostgreSQL'
  }
}

/**
 * Runs `fn` between BEGIN and COMMIT (ROLLBACK when it throws, or when `commit` is false) on a
 * pooled client. A client whose connection broke is destroyed instead of going back to the pool.
 */
export async function transactionOn<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>, commit = true): Promise<T> {
  const client = await pool.connect()
  let broken = false
  // A checked-out client whose connection drops emits 'error' with no pool listener attached:
  // unheard, that would crash the process. The failing query rejects as well, so note it only.
  const onClientError = (): void => {
    broken = true
  }
  client.on('error', onClientError)
  try {
    await client.query('BEGIN')
    try {
      const result = await fn(client)
      await client.query(commit ? 'COMMIT' : 'ROLLBACK')
      return result
    } catch (err) {
      // A failed ROLLBACK leaves the session in an unknown state: the client is destroyed.
      await client.query('ROLLBACK').catch(onClientError)
      throw err
    }
  } catch (err) {
    broken ||= unavailableReason(err) !== undefined
    throw err
  } finally {
    client.removeListener('error', onClientError)
    client.release(broken)
  }
}
