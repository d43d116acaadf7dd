/**
 * The external services tests use, and how a test file finds out whether they are there.
 *
 *   const pg = await pgAvailable()
 *   describe.skipIf(!pg)('… on PostgreSQL', () => { const schemas = usePgSchemas('sync'); … })
 *
 * An unreachable service makes its tests skip, with a one-line reason printed once per file;
 * under `CI=true` it fails the run instead, so CI never passes by skipping.
 */
import { connect } from 'node:net'
import pg from 'pg'
import { afterAll } from 'vitest'

/** PostgreSQL for tests: `TEST_DATABASE_URL`, default the local `test` database. */
export function pgUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
}

/** Redis for tests: `TEST_REDIS_URL`, default the local server. */
export function redisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
}

/** A URL without its password, fit for a log line. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message
}

const checks = new Map<string, Promise<boolean>>()

/** Resolves true when the service answers; else prints why (once), or throws under CI=true. */
function available(service: string, url: string, check: () => Promise<void>): Promise<boolean> {
  let result = checks.get(service)
  if (!result) {
    result = check().then(
      () => true,
      (err: unknown) => {
        const line = `${service} at ${redact(url)} is unreachable (${reasonOf(err)})`
        if (process.env.CI === 'true') throw new Error(`${line}; CI=true requires it`)
        console.warn(`skipping ${service} tests: ${line}`)
        return false
      },
    )
    checks.set(service, result)
  }
  return result
}

/** True when PostgreSQL at `pgUrl()` accepts a connection and a query. */
export function pgAvailable(): Promise<boolean> {
  return available('PostgreSQL', pgUrl(), async () => {
    const client = new pg.Client({ connectionString: pgUrl(), connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query('SELECT 1')
    } finally {
      await client.end().catch(() => undefined)
    }
  })
}

/** True when Redis at `redisUrl()` answers PING (checked over a raw socket: no client needed). */
export function redisAvailable(): Promise<boolean> {
  return available('Redis', redisUrl(), async () => {
    const u = new URL(redisUrl())
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) })
      const fail = (err: Error): void => {
        socket.destroy()
        reject(err)
      }
      socket.setTimeout(3000, () => fail(new Error('timed out')))
      socket.once('error', fail)
      socket.once('connect', () => {
        const auth = u.password ? `AUTH ${u.username ? `${decodeURIComponent(u.username)} ` : ''}${decodeURIComponent(u.password)}\r\n` : ''
        socket.write(`${auth}PING\r\n`)
      })
      socket.on('data', (data) => {
        const text = data.toString()
        if (text.includes('+PONG')) {
          socket.end()
          resolve()
        } else if (text.startsWith('-')) fail(new Error(text.trim()))
      })
    })
  })
}

let counter = 0

/** A PostgreSQL schema name no other test file or run uses (lowercase, at most 63 characters). */
export function uniqueSchemaName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 24)
  counter += 1
  return `t_${clean}_${process.pid}_${Date.now().toString(36)}_${counter}`
}

/**
 * Unique PostgreSQL schemas for one test file: `next()` names a new one; every schema named
 * is dropped (with its tables) after the file's tests. Call it inside the file's describe.
 */
export function usePgSchemas(prefix: string): { next(): string } {
  const made: string[] = []
  afterAll(async () => {
    if (made.length === 0) return
    const client = new pg.Client({ connectionString: pgUrl() })
    await client.connect()
    try {
      for (const schema of made) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await client.end()
    }
  })
  return {
    next(): string {
      const name = uniqueSchemaName(prefix)
      made.push(name)
      return name
    },
  }
}
