/** The seeded adversary fuzz on PostgreSQL (test/support/adversary/fuzz-suite.ts). */
import { createPostgresStorage } from '@pulse/server'
import { describe } from 'vitest'
import { runAdversaryFuzz } from './support/adversary/fuzz-suite.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'

const pg = await pgAvailable()

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('adv_fuzz')
  runAdversaryFuzz('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }), { runs: 10 })
})
