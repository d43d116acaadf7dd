import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { runAdversarySyncSuite } from './support/adversary-sync-suite.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('adversary')
  runAdversarySyncSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
