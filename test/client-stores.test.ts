/** The LocalStore conformance suite against every store the client ships, in Node. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIndexedDbStore, createMemoryStore } from '@pulse/client'
import { createSqliteStore } from '@pulse/client/sqlite'
import { runLocalStoreSuite } from '@pulse/client/store-suite'
import { IDBFactory } from 'fake-indexeddb'

runLocalStoreSuite('memory', () => ({ store: createMemoryStore() }))

runLocalStoreSuite('sqlite (better-sqlite3)', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'pulse-client-store-')), 'client.db')
  return { store: createSqliteStore(file), reopen: () => createSqliteStore(file) }
})

runLocalStoreSuite('indexeddb (fake-indexeddb)', () => {
  const indexedDB = new IDBFactory()
  return { store: createIndexedDbStore('pulse-test', { indexedDB }), reopen: () => createIndexedDbStore('pulse-test', { indexedDB }) }
})
