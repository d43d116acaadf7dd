/**
 * Convergence of real `@pulse/client`s against a real server with accounts on (issue 9): the
 * schedules, the checks and the fate of every edit are described in
 * test/support/client-fuzz-run.ts, the instrumented server and its reference model in
 * test/support/client-fuzz-world.ts. `npm test` runs 200 schedules with memory stores and 40
 * with SQLite stores; `npm run test:fuzz` runs FC_RUNS of each kind (10,000 by default).
 * Replay a failure with the seed it prints: FC_SEED=<seed> FC_RUNS=<n> npx vitest run
 * test/client-convergence.fuzz.test.ts.
 */
import { describe, it } from 'vitest'
import { assertClientConvergence } from './support/client-fuzz-run.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)

describe('convergence of real clients (fuzz)', () => {
  it(
    'memory stores over WebSocket and HTTP: every client ends with the server state in its scope, the server with the policies, every edit with a fate',
    async () => {
      await assertClientConvergence({
        label: 'real-client fuzz (memory stores)',
        seed: envInt('FC_SEED') ?? 20261129,
        runs: envInt('FC_RUNS') ?? 200,
        maxCommands: envInt('FC_COMMANDS') ?? 10,
        blockSize: 25,
        store: 'memory',
      })
    },
    60 * 60_000,
  )

  it(
    'SQLite stores: the same',
    async () => {
      const runs = envInt('FC_RUNS')
      await assertClientConvergence({
        label: 'real-client fuzz (SQLite stores)',
        seed: (envInt('FC_SEED') ?? 20261129) + 1,
        runs: runs === undefined ? 40 : Math.ceil(runs / 5),
        maxCommands: envInt('FC_COMMANDS') ?? 10,
        blockSize: 25,
        store: 'sqlite',
      })
    },
    60 * 60_000,
  )
})
