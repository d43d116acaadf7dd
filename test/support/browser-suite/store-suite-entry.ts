/**
 * The page that runs the client's LocalStore conformance suite against the real IndexedDB of
 * the browser it is loaded in (bundled by test/two-window.browser.test.ts, `vitest` aliased
 * to ./vitest-shim.ts). Results land in `globalThis.__storeSuite`.
 */
import { createIndexedDbStore } from '@pulse/client'
import { runLocalStoreSuite } from '@pulse/client/store-suite'
import { runCollected, type SuiteResult } from './vitest-shim.ts'

let made = 0
runLocalStoreSuite('indexeddb (Chromium)', () => {
  // A database of its own per test: the suite expects every store to start empty.
  const name = `pulse-store-suite-${Date.now()}-${made++}`
  return { store: createIndexedDbStore(name), reopen: () => createIndexedDbStore(name) }
})

const target = globalThis as { __storeSuite?: Promise<SuiteResult[]> }
target.__storeSuite = runCollected()
