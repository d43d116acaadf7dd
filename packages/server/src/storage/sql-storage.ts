/**
 * The Storage of every SQL database, written once over a dialect's driver (`dialect.ts`):
 * records, history, the change order, clients, conflicts, migrations and purges; re-running
 * transactions after transient failures, and turning "the database is gone" into one error. A
 * dialect folder only says how its database connects, runs one transaction and writes batches.
 */

import { PulseError, type Schema } from '@pulse/core'
import { listConflicts } from './conflict-rows.ts'
import { isTransient, toStorageError } from './connection-errors.ts'
import type { SqlDriver, SqlSession } from './dialect.ts'
import { listPage, listRecords } from './list-query.ts'
import { selectChanges, selectHead, selectHistory } from './log-rows.ts'
import { readMeta, writeMeta } from './meta.ts'
import { runMigration } from './migrator.ts'
import { purgeTombstones, readPurgedPosition } from './purge.ts'
import { selectRecords, selectSizes } from './record-row.ts'
import { createSqlTx } from './sql-tx.ts'
import type { MigrationPlan, SqlStorage } from './storage.ts'

/** The first run plus three re-runs. */
const MAX_ATTEMPTS = 4

function checkPosition(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new PulseError('bad_request', `${name} must be an integer ≥ ${min}`)
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The Storage over `driver`. Call `migrate` before use. */
export function createSqlStorage(driver: SqlDriver): SqlStorage {
  let closed = false

  async function use<T>(run: () => Promise<T>): Promise<T> {
    if (closed) throw new PulseError('database_unavailable', `cannot use ${driver.describe} (the storage is closed)`)
    try {
      return await run()
    } catch (err) {
      throw toStorageError(err, driver.describe)
    }
  }

  /** `driver.write`, re-run from the start after a transient failure, with a short random pause so racers do not collide again. */
  const write = <T>(signal: AbortSignal | undefined, fn: (s: SqlSession) => Promise<T>, commit = true): Promise<T> =>
    use(async () => {
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted()
        try {
          return await driver.write(fn, { signal, commit })
        } catch (err) {
          if (!isTransient(err) || attempt >= MAX_ATTEMPTS) throw err
          await pause(5 + Math.random() * 20 * attempt)
        }
      }
    })
  const read = <T>(signal: AbortSignal | undefined, fn: (s: SqlSession) => Promise<T>, snapshot = false): Promise<T> =>
    use(() => {
      signal?.throwIfAborted()
      return driver.read(fn, { signal, snapshot })
    })

  function migration(schema: Schema, apply: boolean, allowDataLoss: boolean, signal?: AbortSignal): Promise<MigrationPlan> {
    const run = async (s: SqlSession) => {
      await driver.prepareMigration(s)
      return runMigration(s, { schema, apply, allowDataLoss })
    }
    return write(signal, run, apply)
  }

  return {
    kind: driver.dialect.name,

    planMigration: (schema, signal) => migration(schema, false, false, signal),

    migrate: (schema, options) => migration(schema, true, options?.allowDataLoss === true, options?.signal),

    transaction: (fn, signal) =>
      write(signal, async (s) => {
        let open = true
        try {
          return await fn(createSqlTx(s, () => open))
        } finally {
          open = false
        }
      }),

    getRecord: (model, id, signal) => read(signal, async (s) => (await selectRecords(s, model, [id])).get(id)),

    getRecords: (model, ids, signal) => read(signal, (s) => selectRecords(s, model, ids)),

    recordSizes: (model, ids, signal) => read(signal, (s) => selectSizes(s, model, ids)),

    listRecords: (model, query, signal) => read(signal, (s) => listRecords(s, model, query)),

    // One snapshot: the records loaded are the ones the sizes were read from.
    listPage: (model, query, maxBytes, signal) => read(signal, (s) => listPage(s, model, query, maxBytes), true),

    listHistory: (model, recordId, signal) => read(signal, (s) => selectHistory(s, model.name, recordId, 0)),

    readChanges: (after, limit, filter, signal) =>
      read(signal, (s) => {
        checkPosition('after', after, 0)
        checkPosition('limit', limit, 1)
        return selectChanges(s, after, limit, filter)
      }),

    purgeTombstones: (before, signal) => write(signal, (s) => purgeTombstones(s, before)),

    purgedPosition: (signal) => read(signal, (s) => readPurgedPosition(s.db)),

    headPosition: (signal) => read(signal, (s) => selectHead(s)),

    listConflicts: (query, signal) => read(signal, (s) => listConflicts(s.db, query)),

    probe: (signal) =>
      write(signal, async (s) => {
        const token = crypto.randomUUID()
        await writeMeta(s.db, 'probe', token)
        if ((await readMeta(s.db, 'probe')) !== token) throw new Error('probe: the value read back differs from the one written')
      }),

    async close() {
      if (closed) return
      closed = true
      await driver.close()
    },

    sql: {
      transaction: (fn, signal) => write(signal, (s) => fn(s.db)),
      read: (fn, signal) => read(signal, (s) => fn(s.db)),
    },
  }
}
