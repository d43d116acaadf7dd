/**
 * Liveness and readiness (issue 8, finding 15), on SQLite and PostgreSQL. `healthz` answers
 * while the database is locked (it touches none); `readyz` probes at most once per interval,
 * answers 503 with the last write error when the probe cannot write, and also when real writes
 * fail while the tiny probe row still fits (the "health lies" case: creates got 503, health 200).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, PulseError } from '@pulse/core'
import { createPostgresStorage, createSqliteStorage, type RunningServer, type SqlStorage } from '@pulse/server'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { httpClient, startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const note = defineModel('note', { fields: { text: f.string({ default: '' }) } })
const schema = defineSchema([note])

/** How a test makes the database refuse or block writes, for real or by injection. */
interface Faults {
  storage: SqlStorage
  /** Holds the database's write lock until the returned function is called. */
  lock(): Promise<() => Promise<void>>
  /** Makes writes to model tables fail as a full disk would (the probe's own row still fits). */
  fillDisk(): Promise<void>
  freeDisk(): Promise<void>
}

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer`)), 10_000))])

function runHealthSuite(name: string, makeFaults: () => Promise<Faults>): void {
  describe(`health probes on ${name}`, () => {
    let server: RunningServer | undefined
    afterEach(async () => {
      await server?.close()
      server = undefined
    })

    it('answers liveness while the database is locked; readiness then says the write did not go through', async () => {
      const faults = await makeFaults()
      server = await startTestServer(schema, faults.storage, { readyProbeIntervalMs: 100 })
      const api = httpClient(server.url)
      const unlock = await faults.lock()
      try {
        const live = await withTimeout(api.get('/api/v1/healthz'), 'healthz')
        expect(live.status).toBe(200)
        const ready = await withTimeout(api.get('/api/v1/readyz'), 'readyz')
        expect(ready.status).toBe(503)
        expect(ready.json).toMatchObject({ error: { code: 'database_unavailable' }, status: 'unready', database: { ok: false } })
        expect(ready.json.lastWriteError.message).toMatch(/in time/)
      } finally {
        await unlock()
      }
      await new Promise((r) => setTimeout(r, 150)) // past the probe interval
      expect((await api.get('/api/v1/readyz')).json).toMatchObject({ status: 'ready', database: { ok: true } })
    })

    it('probes at most once per interval however often it is asked', async () => {
      const faults = await makeFaults()
      let probes = 0
      const counted: SqlStorage = {
        ...faults.storage,
        probe: (signal) => {
          probes += 1
          return faults.storage.probe(signal)
        },
      }
      server = await startTestServer(schema, counted, { readyProbeIntervalMs: 60_000 })
      const api = httpClient(server.url)
      const answers = await Promise.all(Array.from({ length: 40 }, () => api.get('/api/v1/readyz')))
      for (const a of answers) expect(a.status).toBe(200)
      for (let i = 0; i < 10; i++) expect((await api.get('/api/v1/readyz')).status).toBe(200)
      expect(probes).toBe(1)
      for (let i = 0; i < 10; i++) expect((await api.get('/api/v1/healthz')).status).toBe(200)
      expect(probes).toBe(1)
    })

    it('is not ready while real writes fail, even when the probe still writes, and reports why', async () => {
      const faults = await makeFaults()
      server = await startTestServer(schema, faults.storage, { readyProbeIntervalMs: 100 })
      const api = httpClient(server.url)
      expect((await api.post('/api/notes', { text: 'before' })).status).toBe(201)
      expect((await api.get('/api/v1/readyz')).status).toBe(200)
      await faults.fillDisk()
      const refused = await api.post('/api/notes', { text: 'no room' })
      expect(refused.status).toBe(503)
      expect(refused.json.error.code).toBe('database_unavailable')
      await new Promise((r) => setTimeout(r, 150)) // the next readiness check probes again, and the probe succeeds
      const ready = await api.get('/api/v1/readyz')
      expect(ready.status).toBe(503)
      expect(ready.json.database.ok).toBe(true)
      expect(ready.json.lastWriteError).toEqual({ at: expect.any(String), message: expect.stringMatching(/full/i) })
      expect(ready.text).not.toMatch(/127\.0\.0\.1|SELECT|INSERT|at .*\.ts/)
      expect((await api.get('/api/v1/healthz')).status).toBe(200)
      await faults.freeDisk()
      expect((await api.post('/api/notes', { text: 'after' })).status).toBe(201)
      const again = await api.get('/api/v1/readyz')
      expect(again.status).toBe(200)
      expect(again.json.lastWriteError.message).toMatch(/full/i) // the last error is still told
    })
  })
}

runHealthSuite('SQLite', async () => {
  const inner = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-health-')), 'pulse.db') })
  // SQLite cannot be made to fill a disk from here: the storage answers as it does on
  // SQLITE_FULL for model writes (database_unavailable), while its probe keeps writing.
  let full = false
  const storage: SqlStorage = {
    ...inner,
    transaction: (fn, signal) => {
      if (full)
        return Promise.reject(
          Object.assign(new PulseError('database_unavailable', 'cannot use the SQLite database (SQLITE_FULL)'), { reason: 'SQLITE_FULL' }),
        )
      return inner.transaction(fn, signal)
    },
  }
  return {
    storage,
    // The writer is one connection behind a mutex: a transaction left open holds every write.
    async lock() {
      let release: () => void = () => {}
      const gate = new Promise<void>((r) => {
        release = r
      })
      let entered: () => void = () => {}
      const inside = new Promise<void>((r) => {
        entered = r
      })
      const held = inner.transaction(async () => {
        entered()
        await gate
      })
      await inside
      return async () => {
        release()
        await held
      }
    },
    async fillDisk() {
      full = true
    },
    async freeDisk() {
      full = false
    },
  }
})

const pgUp = await pgAvailable()

describe.skipIf(!pgUp)('PostgreSQL', () => {
  const schemas = usePgSchemas('health')
  runHealthSuite('PostgreSQL', async () => {
    const schemaName = schemas.next()
    const storage = await createPostgresStorage({ connectionString: pgUrl(), schema: schemaName })
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: pgUrl() })
      await client.connect()
      try {
        await client.query(text)
      } finally {
        await client.end()
      }
    }
    return {
      storage,
      // A real lock: another session holds pulse_meta (where the probe writes) exclusively.
      async lock() {
        const client = new pg.Client({ connectionString: pgUrl() })
        await client.connect()
        await client.query('BEGIN')
        await client.query(`LOCK TABLE "${schemaName}"."pulse_meta" IN ACCESS EXCLUSIVE MODE`)
        return async () => {
          await client.query('ROLLBACK')
          await client.end()
        }
      },
      // A real refusal with PostgreSQL's disk-full SQLSTATE, on the model's table only.
      async fillDisk() {
        await sql(`CREATE FUNCTION "${schemaName}".disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$`)
        await sql(
          `CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON "${schemaName}"."note" FOR EACH ROW EXECUTE FUNCTION "${schemaName}".disk_full()`,
        )
      },
      async freeDisk() {
        await sql(`DROP TRIGGER disk_full ON "${schemaName}"."note"`)
      },
    }
  })
})
