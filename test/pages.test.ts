import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runPagesSuite } from './support/pages-suite.ts'

runPagesSuite('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-pages-')), 'pulse.db') }))
