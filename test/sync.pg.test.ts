import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { runClockSuite } from './support/sync-clock-suite.ts'
import { runSyncSuite } from './support/sync-suite.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('sync')
  const postgres = async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() })
  runSyncSuite('PostgreSQL', postgres)
  runClockSuite('PostgreSQL', postgres)
})
