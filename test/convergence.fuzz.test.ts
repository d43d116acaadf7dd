/**
 * Convergence of many offline-first clients (PROTOCOL.md §3–§5), as a fast-check model-based
 * test against a real server over HTTP. Each schedule starts a fresh server on a fresh SQLite
 * file, 2–4 simulated devices (test/support/sim-client.ts) and a random sequence of local
 * creates, updates (every merge policy of the `note` model; `memo` for updateRevives),
 * deletes, creates of existing ids, invalid edits, offline and online spells, pushes of the
 * whole queue or its first 1, 2 or 5 mutations (some whose answer is lost, so the retry is a
 * duplicate), paged pulls, conflicts settled by a person, and REST writes (PATCH, DELETE) that
 * devices' queued edits meet as concurrent changes (§5 clock rules: they move `server`). Every push answer (status,
 * record, conflict) is checked against a reference model of the server's rules
 * (test/support/reference-model.ts) fed the same mutations in the same order. At the end
 * every device pushes and pulls until nothing is left, and:
 *
 * - every device's store equals the server's state, tombstones included, field by field;
 * - the server's records equal the reference model's (version, vector clock, every field);
 * - every pushed mid got a result, and no mutation was applied twice: each record's version
 *   and history length equal the number of applied / merged / conflict answers for it (plus
 *   resolutions that changed it), and its history matches the reference's entry by entry.
 *
 * Beside the real-client fuzz (client-convergence.fuzz.test.ts) this one stays for what a real
 * client never sends: invalid mutations and unknown models pushed as they are, creates of ids
 * that exist, pushes of the first 1, 2 or 5 queued mutations with answers lost on purpose (so
 * exact duplicates), paged pulls of 1–8 changes, and the exact conflict bodies, on a server
 * without accounts.
 *
 * The world and the property are in test/support/convergence-world.ts and convergence-run.ts
 * (test/decide.fuzz.test.ts runs them on the write path over memory). Seeded so a failure
 * replays: FC_SEED=<seed> FC_RUNS=<n> npx vitest run test/convergence.fuzz.test.ts (fast-check
 * prints the seed and the shrunk schedule).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage } from '@pulse/server'
import { afterAll, describe, it } from 'vitest'
import { assertConvergence } from './support/convergence-run.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { syncSchema } from './support/sync-models.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)

describe('convergence of offline-first clients (fuzz)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-fuzz-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it(
    'every device ends with the server state, which is what the merge policies define; nothing lost, nothing applied twice',
    async () => {
      let n = 0
      await assertConvergence({
        label: 'convergence fuzz',
        seed: envInt('FC_SEED') ?? 20261123,
        runs: envInt('FC_RUNS') ?? 100,
        maxCommands: envInt('FC_COMMANDS') ?? 120,
        async start() {
          n += 1
          const filename = join(dir, `run-${n}.db`)
          const server = await startTestServer(syncSchema, await createSqliteStorage({ filename }))
          return {
            api: httpClient(server.url),
            async close() {
              await server.close()
              for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true })
            },
          }
        },
      })
    },
    60 * 60_000,
  )
})
