import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPostgresStorage, createSqliteStorage } from '@pulse/server'
import { describe } from 'vitest'
import { runRestGroupSuite } from './support/rest-group-suite.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

runRestGroupSuite('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-group-')), 'pulse.db') }))

const pg = await pgAvailable()
describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('restgroup')
  runRestGroupSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
