/**
 * A local store in a SQLite file through better-sqlite3 (Node, Electron, tests). Its own entry
 * point (`@pulse/client/sqlite`), so browser bundles never see it. The driver is typed
 * structurally, and loaded with a computed specifier so that neither bundlers nor the type
 * checker pull Node into the rest of the client.
 */
import { type AbortSignalLike, throwIfAborted } from '../platform.ts'
import { createCallTracker, openOnce } from './call-tracker.ts'
import type { JsonValue, LocalStore, OutboxEntry, StoreBatch, StoredRow } from './local-store.ts'

/** The parts of a better-sqlite3 statement the store calls. */
export interface SqliteStatementLike {
  run(...params: unknown[]): unknown
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
}

/** The parts of a better-sqlite3 database the store calls. */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike
  exec(sql: string): unknown
  pragma(sql: string): unknown
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void
  close(): unknown
}

type SqliteConstructor = new (filename: string) => SqliteDatabaseLike

const DRIVER = 'better-sqlite3'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pulse_records (model TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (model, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pulse_outbox (mid INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pulse_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`

async function openFile(filename: string): Promise<SqliteDatabaseLike> {
  const specifier: string = DRIVER
  const mod = (await import(/* @vite-ignore */ specifier)) as { default: SqliteConstructor }
  return new mod.default(filename)
}

/**
 * A store in the SQLite file `filename` (created if missing), or in an already open
 * better-sqlite3 database, which the store then owns and closes. The file opens on first use;
 * an open failure rejects that first call.
 */
export function createSqliteStore(target: string | SqliteDatabaseLike): LocalStore {
  const calls = createCallTracker(typeof target === 'string' ? target : 'sqlite database')
  const opening = (async () => {
    const db = typeof target === 'string' ? await openFile(target) : target
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(SCHEMA)
    const s = {
      getRecord: db.prepare('SELECT body FROM pulse_records WHERE model = ? AND id = ?'),
      scan: db.prepare('SELECT body FROM pulse_records WHERE model = ? ORDER BY id'),
      putRecord: db.prepare('INSERT OR REPLACE INTO pulse_records (model, id, body) VALUES (?, ?, ?)'),
      deleteRecord: db.prepare('DELETE FROM pulse_records WHERE model = ? AND id = ?'),
      outbox: db.prepare('SELECT body FROM pulse_outbox ORDER BY mid'),
      putOutbox: db.prepare('INSERT OR REPLACE INTO pulse_outbox (mid, body) VALUES (?, ?)'),
      deleteOutbox: db.prepare('DELETE FROM pulse_outbox WHERE mid = ?'),
      getMeta: db.prepare('SELECT value FROM pulse_meta WHERE key = ?'),
      putMeta: db.prepare('INSERT OR REPLACE INTO pulse_meta (key, value) VALUES (?, ?)'),
      deleteMeta: db.prepare('DELETE FROM pulse_meta WHERE key = ?'),
    }
    const apply = db.transaction((rows: readonly Written[], entries: readonly Written[], values: readonly Written[]) => {
      for (const w of rows) {
        if (w.text === null) s.deleteRecord.run(w.model, w.key)
        else s.putRecord.run(w.model, w.key, w.text)
      }
      for (const w of entries) {
        if (w.text === null) s.deleteOutbox.run(w.key)
        else s.putOutbox.run(w.key, w.text)
      }
      for (const w of values) {
        if (w.text === null) s.deleteMeta.run(w.key)
        else s.putMeta.run(w.key, w.text)
      }
    })
    return { db, s, apply }
  })()
  const connection = openOnce(opening)

  const use = async (signal: AbortSignalLike | undefined, what: string) => {
    const open = await connection.get()
    throwIfAborted(signal, what)
    return open
  }
  const body = (row: unknown): string => (row as { body: string }).body

  return {
    getRecord: (model, id, signal) =>
      calls.run(async () => {
        const { s } = await use(signal, 'getRecord')
        const row = s.getRecord.get(model, id)
        return row === undefined ? undefined : (JSON.parse(body(row)) as StoredRow)
      }),
    scanRecords: (model, signal) =>
      calls.run(async () => {
        const { s } = await use(signal, 'scanRecords')
        return s.scan.all(model).map((row) => JSON.parse(body(row)) as StoredRow)
      }),
    listOutbox: (signal) =>
      calls.run(async () => {
        const { s } = await use(signal, 'listOutbox')
        return s.outbox.all().map((row) => JSON.parse(body(row)) as OutboxEntry)
      }),
    getMeta: (key, signal) =>
      calls.run(async () => {
        const { s } = await use(signal, 'getMeta')
        const row = s.getMeta.get(key) as { value: string } | undefined
        return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue)
      }),
    commit: (batch: StoreBatch, signal) =>
      calls.run(async () => {
        const { apply } = await use(signal, 'commit')
        // Serialised before the transaction: a value that cannot be stored fails the batch whole.
        apply(
          batch.records.map((w) => ({ model: w.model, key: w.id, text: w.row === null ? null : JSON.stringify(w.row) })),
          batch.outbox.map((w) => ({ model: '', key: w.mid, text: w.entry === null ? null : JSON.stringify(w.entry) })),
          batch.meta.map((w) => ({ model: '', key: w.key, text: w.value === null ? null : JSON.stringify(w.value) })),
        )
      }),
    close: () =>
      calls.close(async () => {
        ;(await connection.ifOpened())?.db.close()
      }),
  }
}

interface Written {
  model: string
  key: string | number
  text: string | null
}
