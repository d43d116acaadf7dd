import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runClockSuite } from './support/sync-clock-suite.ts'
import { runSyncSuite } from './support/sync-suite.ts'

const sqlite = async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-sync-')), 'pulse.db') })
runSyncSuite('SQLite', sqlite)
runClockSuite('SQLite', sqlite)
