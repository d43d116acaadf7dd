import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { runSyncSuite } from './support/sync-suite.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('sync')
  runSyncSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
