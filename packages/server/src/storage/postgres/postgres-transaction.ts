/**
 * Transactions on PostgreSQL: BEGIN … COMMIT on one pooled client, re-run from the start on a
 * transient failure (serialization failure 40001, deadlock 40P01, a unique-key race on insert
 * 23505), a few times, with a short random pause so the racers do not collide again.
 */
import { type PgClient, type PgPool, withClient } from './postgres-pool.ts'

const TRANSIENT = new Set(['40001', '40P01', '23505'])
/** The first run plus three re-runs. */
const MAX_ATTEMPTS = 4

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && TRANSIENT.has(code)
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** What a transaction run needs. */
export interface TransactionOptions {
  /** False: roll back at the end even when `fn` succeeds (planning a migration). */
  commit?: boolean
  signal?: AbortSignal
}

/** Runs `fn` in a transaction on a client of `pool`; commits when it resolves, rolls back when it throws. */
export async function runTransaction<T>(
  pool: PgPool,
  what: string,
  fn: (client: PgClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return await withClient(pool, what, async (client, markBroken) => {
        await client.query('BEGIN')
        try {
          const result = await fn(client)
          await client.query(options.commit === false ? 'ROLLBACK' : 'COMMIT')
          return result
        } catch (err) {
          // A failed ROLLBACK leaves the session in an unknown state: the client is destroyed.
          await client.query('ROLLBACK').catch(markBroken)
          throw err
        }
      })
    } catch (err) {
      if (!isTransient(err) || attempt >= MAX_ATTEMPTS) throw err
      await pause(5 + Math.random() * 20 * attempt)
    }
  }
}
