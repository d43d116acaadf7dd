/** Shared pieces of the benchmarks: timing, percentiles, printing, database choice. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const nowMs = (): number => performance.now()

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

/** Formats a rate with thousands separators. */
export const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`

/** A fresh SQLite file path in a temporary directory. */
export function tempSqlite(label: string): string {
  return join(mkdtempSync(join(tmpdir(), `pulse-bench-${label}-`)), 'bench.db')
}

/** The PostgreSQL URL benchmarks use, when a server answers there. */
export async function benchPgUrl(): Promise<string | undefined> {
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.end()
    return url
  } catch {
    console.log(`(PostgreSQL at ${url} is not reachable: its figures are skipped)`)
    return undefined
  }
}

/** A PostgreSQL schema made for one benchmark run and dropped afterwards. */
export async function withPgSchema<T>(url: string, fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${process.pid}_${Math.floor(Math.random() * 1e6)}`
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(schema)
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
}

/** Prints a table of rows. */
export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`)
  console.table(rows)
}
