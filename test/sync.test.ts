import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runSyncSuite } from './support/sync-suite.ts'

runSyncSuite('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-sync-')), 'pulse.db') }))
