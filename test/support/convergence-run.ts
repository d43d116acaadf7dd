/**
 * The convergence fuzz as a fast-check model-based property: random schedules of commands
 * (edits, pushes — some whose answer is lost, so the retry is a duplicate — paged pulls,
 * offline and online spells, conflicts settled, REST writes) run against a server, then every
 * device pushes and pulls until nothing is left, and:
 *
 * - every device's store equals the server's state, tombstones included, field by field;
 * - the server's records equal the reference model's (version, vector clock, every field);
 * - every pushed mid got a result, and no mutation was applied twice: each record's version
 *   and history length equal the number of applied / merged / conflict answers for it (plus
 *   resolutions that changed it), and its history matches the reference's entry by entry.
 *
 * Seeded so a failure replays (fast-check prints the seed and the shrunk schedule).
 */
import type { WireRecord } from '@pulse/core'
import fc from 'fast-check'
import { expect } from 'vitest'
import { expectSameRecord, type Stats, World } from './convergence-world.ts'
import { editArb, memoTextArb, noteEditsArb } from './fuzz-edits.ts'
import { canonical, type RefRecord } from './reference-model.ts'
import type { Api } from './sim-client.ts'
import { syncSchema } from './sync-models.ts'

// ---------------------------------------------------------------------------------------------
// Commands.

type Cmd = fc.AsyncCommand<object, World>

const command = (label: string, run: (w: World) => Promise<void> | void): Cmd => ({
  check: () => true,
  async run(_model, world) {
    world.stats.commands += 1
    await run(world)
  },
  toString: () => label,
})

/** How many queued mutations one push sends: the whole queue, or the first 1, 2 or 5. */
const batchArb: fc.Arbitrary<number | undefined> = fc.constantFrom(undefined, 1, 2, 5)

const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(), fc.constantFrom('local' as const, 'remote' as const, 'custom' as const))
      .map(([pick, choice]) => command(`resolveConflict(${pick}, ${choice})`, (w) => w.resolve(pick, choice))),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.oneof(
          { weight: 4, arbitrary: fc.record({ kind: fc.constant('patch' as const), note: noteEditsArb, memo: memoTextArb }) },
          { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
        ),
      )
      .map(([pick, edit]) => command(`rest(${pick}, ${JSON.stringify(edit)})`, (w) => w.rest(pick, edit))),
  },
  {
    weight: 8,
    arbitrary: fc.tuple(fc.nat(3), editArb).map(([c, e]) => command(`edit(${c}, ${JSON.stringify(e)})`, (w) => w.edit(w.client(c), e))),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat(3), batchArb)
      .map(([c, max]) => command(`push(${c}, ${max ?? 'all'})`, (w) => w.client(c).push(max === undefined ? {} : { max }))),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(3), batchArb)
      .map(([c, max]) =>
        command(`pushLosingAnswer(${c}, ${max ?? 'all'})`, (w) =>
          w.client(c).push({ loseResponse: true, ...(max === undefined ? {} : { max }) }),
        ),
      ),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat(3), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }))
      .map(([c, limit, pages]) =>
        command(`pull(${c}, limit ${limit}, ${pages} pages)`, async (w) => void (await w.client(c).pull(limit, pages))),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.nat(3).map((c) =>
      command(`offline(${c})`, (w) => {
        w.client(c).online = false
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.nat(3).map((c) =>
      command(`online(${c})`, async (w) => {
        const client = w.client(c)
        client.online = true
        await client.push()
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 3 }).map((ms) =>
      command(`tick(${ms} ms)`, (w) => {
        w.clockMs += ms
      }),
    ),
  },
)

// ---------------------------------------------------------------------------------------------

/** Everything on the server: a pull from no cursor, every page. */
async function serverState(api: Api): Promise<Map<string, { model: string; record: WireRecord }>> {
  const out = new Map<string, { model: string; record: WireRecord }>()
  let cursor: string | null = null
  for (;;) {
    const res = await api.get(`/api/sync/pull?limit=5000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    expect(res.status).toBe(200)
    for (const change of res.json.changes) out.set(change.record.id, { model: change.model, record: change.record })
    cursor = res.json.cursor
    if (!res.json.hasMore) return out
  }
}

/** The final round: everyone online, pushes everything, then pulls until nothing is left; twice. */
async function settle(world: World): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (const client of world.clients) {
      client.online = true
      if (round === 1) expect(client.queue, `${client.deviceId} still has pending mutations after pushing`).toEqual([])
      await client.push()
      expect(client.queue, `${client.deviceId}: every pushed mid answered`).toEqual([])
    }
    for (const client of world.clients) await client.pull(50)
  }
}

async function checkConverged(world: World): Promise<void> {
  const server = await serverState(world.api)
  // (a) every device sees exactly the server's state, tombstones included.
  for (const client of world.clients) {
    expect([...client.store.keys()].sort(), `${client.deviceId} knows the server's records`).toEqual([...server.keys()].sort())
    for (const [id, s] of server) expect(client.store.get(id), `${client.deviceId}: record ${id}`).toEqual(s)
  }
  // (b) the server's state is what the policies define.
  const reference = new Map(world.reference.all().map((r) => [r.id, r]))
  expect([...server.keys()].sort(), 'the server has the reference model records').toEqual([...reference.keys()].sort())
  for (const [id, { model, record }] of server) {
    const ref = reference.get(id) as RefRecord
    expect(model).toBe(ref.model)
    expectSameRecord(record, ref, `final state of ${model} ${id}`)
    // (c) nothing applied twice, nothing lost: one version per accepted answer, history to match.
    expect(record.version, `${id}: one version per applied/merged/conflict answer`).toBe(world.accepted.get(id) ?? 0)
    const plural = syncSchema.model(model).plural
    const history = await world.api.get(`/api/${plural}/${id}/history`)
    expect(history.status).toBe(200)
    const items = history.json.items as { version: number; op: string; changes: Record<string, unknown>; deviceId: string | null }[]
    expect(items.length, `${id}: history length`).toBe(record.version)
    expect(
      items.map((h) => ({ version: h.version, op: h.op, changes: canonical(h.changes), deviceId: h.deviceId })),
      `${id}: history matches the reference`,
    ).toEqual(ref.history.map((h) => ({ version: h.version, op: h.op, changes: canonical(h.changes), deviceId: h.deviceId })))
  }
}

/** A fresh server for one schedule, and how to end it. */
export interface ScheduleServer {
  api: Api
  close(): Promise<void>
}

/** How a convergence run is set up. */
export interface ConvergenceRun {
  /** Named in the printed summary. */
  label: string
  seed: number
  runs: number
  maxCommands: number
  /** Starts a fresh, empty server for each schedule. */
  start(): Promise<ScheduleServer>
}

/** Runs the property: `runs` schedules from `seed`, each on a fresh server; prints a summary. */
export async function assertConvergence(run: ConvergenceRun): Promise<void> {
  const stats: Stats = { schedules: 0, commands: 0, pushes: 0, statuses: {} }
  const started = performance.now()
  const property = fc.asyncProperty(
    fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 2, maxLength: 4 }),
    fc.commands([commandArb], { maxCommands: run.maxCommands, size: 'max' }),
    async (skews, commands) => {
      stats.schedules += 1
      const server = await run.start()
      try {
        const world = new World(server.api, skews, stats)
        await fc.asyncModelRun(() => ({ model: {}, real: world }), commands)
        await settle(world)
        await checkConverged(world)
      } finally {
        await server.close()
      }
    },
  )
  try {
    await fc.assert(property, { seed: run.seed, numRuns: run.runs })
  } finally {
    // Shrinking a failure runs more schedules than FC_RUNS: they are counted too.
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `${run.label}: ${stats.schedules} schedules run (FC_SEED=${run.seed}, FC_RUNS=${run.runs}), ${stats.commands} commands, ${stats.pushes} pushes, statuses ${JSON.stringify(stats.statuses)}, ${seconds} s`,
    )
  }
}
