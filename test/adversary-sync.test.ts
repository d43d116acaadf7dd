import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runAdversarySyncSuite } from './support/adversary-sync-suite.ts'

runAdversarySyncSuite('SQLite', async () =>
  createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-adversary-')), 'pulse.db') }),
)
