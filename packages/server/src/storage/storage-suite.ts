/**
 * The Storage conformance suite (CONVENTIONS.md "every seam exports its conformance suite"):
 * every implementation's test file is its setup plus `runStorageSuite`.
 */
import { afterEach, beforeEach, describe } from 'vitest'
import type { Storage } from './storage.ts'
import { clientTests } from './suite/client-tests.ts'
import type { SuiteContext } from './suite/fixtures.ts'
import { listTests } from './suite/list-tests.ts'
import { logTests } from './suite/log-tests.ts'
import { migrationTests } from './suite/migration-tests.ts'
import { recordTests } from './suite/records-tests.ts'
import { sizeTests } from './suite/size-tests.ts'

/**
 * Runs the conformance suite. `makeStorage` must return a fresh, empty, unmigrated storage
 * each time it is called (a new file, or a new PostgreSQL schema); the suite closes it.
 */
export function runStorageSuite(name: string, makeStorage: () => Promise<Storage>): void {
  describe(`Storage conformance: ${name}`, () => {
    let current: Storage | undefined
    const extra: Storage[] = []
    beforeEach(async () => {
      current = await makeStorage()
    })
    afterEach(async () => {
      await Promise.all([current, ...extra.splice(0)].map((s) => s?.close()))
      current = undefined
    })
    const ctx: SuiteContext = {
      storage(): Storage {
        if (!current) throw new Error('no storage: use ctx.storage() inside a test')
        return current
      },
      async make(): Promise<Storage> {
        const s = await makeStorage()
        extra.push(s)
        return s
      },
    }
    recordTests(ctx)
    logTests(ctx)
    clientTests(ctx)
    listTests(ctx)
    migrationTests(ctx)
    sizeTests(ctx)
  })
}
