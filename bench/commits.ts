/**
 * Single-record writes on PostgreSQL with 1, 4 and 16 in flight (issue 12): each one is its own
 * transaction, so this measures how far commits overlap. Next to it, in the same run, the raw
 * ceiling: single-row INSERT transactions on as many pg connections in flight.
 *
 *   node --conditions=@pulse/source --import tsx bench/commits.ts [N]
 */
import { defineSchema } from '@pulse/core'
import { createEngine, createPostgresStorage, systemContext } from '@pulse/server'
import pg from 'pg'
import config from '../examples/tasks/pulse.config.ts'
import { benchPgUrl, nowMs, printTable, rate, withPgSchema } from './support.ts'

const N = Number(process.argv[2] ?? 2_000)
const IN_FLIGHT = [1, 4, 16]
const schema = defineSchema(config.models)
const ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'

/** Runs `n` calls of `one` with `concurrency` in flight; returns the milliseconds taken. */
async function inFlight(n: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0
  const t0 = nowMs()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++)
    }),
  )
  return nowMs() - t0
}

async function engineRate(url: string, concurrency: number): Promise<string> {
  return withPgSchema(url, async (s) => {
    const storage = await createPostgresStorage({ connectionString: url, schema: s, poolSize: concurrency + 2 })
    try {
      await storage.migrate(schema)
      const engine = createEngine({ storage, schema })
      const ctx = systemContext()
      const ms = await inFlight(N, concurrency, async (i) => {
        await engine.write(ctx, [{ op: 'create', model: 'task', data: { orgId: ORG, title: `Task ${i}`, priority: i % 6 } }])
      })
      return rate(N, ms)
    } finally {
      await storage.close()
    }
  })
}

async function rawRate(url: string, concurrency: number): Promise<string> {
  return withPgSchema(url, async (s) => {
    const pool = new pg.Pool({ connectionString: url, max: concurrency })
    try {
      await pool.query(`CREATE SCHEMA "${s}"`)
      await pool.query(`CREATE TABLE "${s}".t (id bigint PRIMARY KEY, title text)`)
      const ms = await inFlight(N, concurrency, async (i) => {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          await client.query(`INSERT INTO "${s}".t VALUES ($1, $2)`, [i, `Task ${i}`])
          await client.query('COMMIT')
        } finally {
          client.release()
        }
      })
      return rate(N, ms)
    } finally {
      await pool.end()
    }
  })
}

const url = await benchPgUrl()
if (url) {
  const rows: Record<string, string>[] = []
  for (const c of IN_FLIGHT)
    rows.push({
      'in flight': String(c),
      'engine.write, 1 record': await engineRate(url, c),
      'raw pg INSERT + COMMIT': await rawRate(url, c),
    })
  printTable(
    `Single-record write transactions on PostgreSQL (${N.toLocaleString('en-US')} each), with the raw ceiling of the same run`,
    rows,
  )
}
