import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { runRestSuite } from './support/rest-suite.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('rest')
  runRestSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
