/**
 * A local store in IndexedDB (browsers; in Node, tests give it fake-indexeddb). One database
 * per store name, with three object stores: `records` keyed by [model, id] with an index on
 * model, `outbox` keyed by mid, `meta` keyed by name. Each commit is one readwrite
 * transaction; a value that cannot be cloned aborts it whole.
 */
import { type AbortSignalLike, throwIfAborted } from '../platform.ts'
import { createCallTracker, openOnce } from './call-tracker.ts'
import type { IdbDatabaseLike, IdbFactoryLike, IdbRequestLike, IdbTransactionLike } from './indexeddb-types.ts'
import type { JsonValue, LocalStore, OutboxEntry, StoreBatch, StoredRow } from './local-store.ts'

/** What `createIndexedDbStore` takes besides the name. */
export interface IndexedDbStoreOptions {
  /** The IndexedDB factory (default: the platform's `indexedDB`). */
  indexedDB?: IdbFactoryLike
}

const VERSION = 1
const RECORDS = 'records'
const OUTBOX = 'outbox'
const META = 'meta'
const BY_MODEL = 'by_model'

function failure(error: unknown, what: string): Error {
  if (error instanceof Error) return error
  const name = (error as { name?: unknown } | null)?.name
  return new Error(`IndexedDB ${what} failed${typeof name === 'string' ? `: ${name}` : ''}`)
}

function request<T>(req: IdbRequestLike<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(failure(req.error, what))
  })
}

function done(tx: IdbTransactionLike, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(failure(tx.error, what))
    tx.onabort = () => reject(failure(tx.error, `${what} (aborted)`))
  })
}

function openDatabase(factory: IdbFactoryLike, name: string): Promise<IdbDatabaseLike> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, VERSION)
    req.onupgradeneeded = () => {
      const db = req.result
      if (!db.objectStoreNames.contains(RECORDS)) {
        db.createObjectStore(RECORDS, { keyPath: ['model', 'record.id'] }).createIndex(BY_MODEL, 'model')
      }
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'mutation.mid' })
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META)
    }
    req.onsuccess = () => {
      const db = req.result
      // Another page upgrading the database: step aside rather than block it.
      db.onversionchange = () => db.close()
      resolve(db)
    }
    req.onerror = () => reject(failure(req.error, `opening ${name}`))
    req.onblocked = () => reject(new Error(`IndexedDB ${name} is held open by an older version in another page`))
  })
}

/** Writes a batch in one readwrite transaction; resolves once it committed. */
async function writeBatch(db: IdbDatabaseLike, batch: StoreBatch): Promise<void> {
  const tx = db.transaction([RECORDS, OUTBOX, META], 'readwrite')
  try {
    const records = tx.objectStore(RECORDS)
    for (const w of batch.records) {
      if (w.row === null) records.delete([w.model, w.id])
      else records.put(w.row)
    }
    const outbox = tx.objectStore(OUTBOX)
    for (const w of batch.outbox) {
      if (w.entry === null) outbox.delete(w.mid)
      else outbox.put(w.entry)
    }
    const meta = tx.objectStore(META)
    for (const w of batch.meta) {
      if (w.value === null) meta.delete(w.key)
      else meta.put(w.value, w.key)
    }
  } catch (e) {
    // A value that cannot be cloned throws here: nothing of the batch may land.
    tx.abort()
    throw e
  }
  // The transaction commits once this task's requests are done: listening now misses nothing.
  await done(tx, 'commit')
}

/** A store in the IndexedDB database `name` (created if missing); it opens on first use. */
export function createIndexedDbStore(name: string, options: IndexedDbStoreOptions = {}): LocalStore {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IdbFactoryLike }).indexedDB
  const calls = createCallTracker(name)
  const connection = openOnce(factory ? openDatabase(factory, name) : Promise.reject(new Error('no IndexedDB on this platform')))

  const use = async (signal: AbortSignalLike | undefined, what: string): Promise<IdbDatabaseLike> => {
    const db = await connection.get()
    throwIfAborted(signal, what)
    return db
  }
  const read = async <T>(
    store: string,
    what: string,
    signal: AbortSignalLike | undefined,
    fn: (tx: IdbTransactionLike) => IdbRequestLike<T>,
  ) => {
    const db = await use(signal, what)
    return request(fn(db.transaction(store, 'readonly')), what)
  }

  return {
    sharedName: name,
    getRecord: (model, id, signal) =>
      calls.run(async () => {
        const row = await read(RECORDS, 'getRecord', signal, (tx) => tx.objectStore(RECORDS).get([model, id]))
        return row as StoredRow | undefined
      }),
    scanRecords: (model, signal) =>
      calls.run(async () => {
        const rows = await read(RECORDS, 'scanRecords', signal, (tx) => tx.objectStore(RECORDS).index(BY_MODEL).getAll(model))
        return rows as StoredRow[]
      }),
    listOutbox: (signal) =>
      calls.run(async () => {
        const entries = await read(OUTBOX, 'listOutbox', signal, (tx) => tx.objectStore(OUTBOX).getAll())
        return entries as OutboxEntry[]
      }),
    getMeta: (key, signal) =>
      calls.run(async () => {
        const value = await read(META, 'getMeta', signal, (tx) => tx.objectStore(META).get(key))
        return value as JsonValue | undefined
      }),
    commit: (batch: StoreBatch, signal) =>
      calls.run(async () => {
        const db = await use(signal, 'commit')
        await writeBatch(db, batch)
      }),
    close: () =>
      calls.close(async () => {
        ;(await connection.ifOpened())?.close()
      }),
  }
}
