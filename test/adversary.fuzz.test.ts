/**
 * The seeded adversary fuzz on SQLite (test/support/adversary/fuzz-suite.ts): rounds of random
 * attacks across tenants, memberships, sessions and tokens; 0 leaks, 0 unauthorised writes,
 * 0 5xx. `npm run test:adversary` runs many more rounds (ADV_RUNS), on PostgreSQL too.
 * Replay a failure with the ADV_* line it prints.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { runAdversaryFuzz } from './support/adversary/fuzz-suite.ts'

runAdversaryFuzz(
  'SQLite',
  async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-adv-fuzz-')), 'pulse.db') }),
  {
    runs: 30,
  },
)
