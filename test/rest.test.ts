import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runRestSuite } from './support/rest-suite.ts'

runRestSuite('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-rest-')), 'pulse.db') }))
