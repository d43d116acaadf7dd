/**
 * `decide` and `persist` against the reference model (test/support/reference-model.ts), with no
 * database: the convergence property of test/convergence.fuzz.test.ts — devices editing offline
 * with every merge policy, pushes whose answers are lost, REST writes, conflicts settled — run on
 * the write path (check, decide, persist) over tables in memory (test/support/memory-server.ts).
 * Every push answer must be the reference's (status, record, conflict), and at the end every
 * device, the server and the reference agree, with each mutation applied once.
 *
 * Being quick, it runs many more schedules than the HTTP fuzz. Seeded so a failure replays:
 * FC_SEED=<seed> FC_RUNS=<n> npx vitest run test/decide.fuzz.test.ts
 */
import { describe, it } from 'vitest'
import { assertConvergence } from './support/convergence-run.ts'
import { memoryServer } from './support/memory-server.ts'
import { syncSchema } from './support/sync-models.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)

describe('decide and persist against the reference model (no database)', () => {
  it(
    'every push answer is the reference’s, and devices, server and reference converge',
    async () => {
      await assertConvergence({
        label: 'decide fuzz (memory)',
        seed: envInt('FC_SEED') ?? 20261129,
        runs: envInt('FC_RUNS') ?? 500,
        maxCommands: envInt('FC_COMMANDS') ?? 120,
        start: async () => ({ api: memoryServer(syncSchema), close: async () => {} }),
      })
    },
    30 * 60_000,
  )
})
