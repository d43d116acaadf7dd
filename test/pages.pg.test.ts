import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { runPagesSuite } from './support/pages-suite.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('pages')
  runPagesSuite('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
