/**
 * The real-client convergence fuzz as a fast-check model-based property (the world is
 * client-fuzz-world.ts). Each schedule opens 2–4 real `@pulse/client`s (memory or SQLite
 * store, over WebSocket or HTTP, each device's clock skewed by −1 h … +1 year) on distinct
 * devices of two users, and runs a random sequence of: local creates, updates (every merge
 * policy) and deletes in either organization, invalid edits, offline and online spells, REST
 * PATCHes and DELETEs with a device's token or an organization's API token, conflicts settled
 * by a device, a user leaving and rejoining an organization, an access token expiring (the
 * client refreshes it through `onUnauthorized`), server restarts, and pauses. Then every client
 * comes online and syncs until nothing is left, and:
 *
 * - every server decision (push, REST, resolution) equalled the reference model's (checked as
 *   it was made: status, error code, record, conflict body);
 * - the server's records equal the reference's, and the history of each record written in the
 *   schedule matches it entry by entry;
 * - each client shows exactly the server's live records of its user's organizations;
 * - every edit has a fate: its mutation was applied, merged, or found stale (all as the
 *   reference decided), or reported to the app (a `conflict` event for a conflict, a `rejected`
 *   event for a refusal), or it was folded into a later local edit of the record before being
 *   sent, or refused at once by the client (invalid), or changed nothing. One edit without a
 *   fate fails the run.
 *
 * Seeded: fast-check prints the seed and the shrunk schedule. The schedule replays; the
 * interleaving with the clients' background sync (real time, real sockets) does not exactly.
 */
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { type Client, type ClientEvents, createClient, createMemoryStore, type LocalStore, systemClock } from '@pulse/client'
import { createSqliteStore } from '@pulse/client/sqlite'
import type { WireRecord } from '@pulse/core'
import fc from 'fast-check'
import { join as joinOrg } from './accounts.ts'
import { check, settle, within } from './client-fuzz-check.ts'
import { Block, type FuzzDevice } from './client-fuzz-world.ts'
import { createTestNetwork, FAST_TIMINGS, type TestNetwork } from './client-harness.ts'
import { type Edit, memoTextArb, NOTE_DEFAULTS, type NoteEdits, noteData, noteEditsArb, pool } from './fuzz-edits.ts'
import { orgSyncSchema } from './sync-models.ts'

const MODELS = [...orgSyncSchema.models.values()]
const SKEWS = [-3_600_000, -60_000, -1_000, 3_600_000, 365 * 24 * 3_600_000]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How one schedule's client is made. */
interface ClientSpec {
  device: number
  transport: 'websocket' | 'http'
  skew: number
}

/** One local edit and what became of it. */
export interface EditLog {
  label: string
  model: string
  id: string
  /** The `at` of the outbox entry that carries it (absent: it queued nothing). */
  at?: string
  outcome: 'queued' | 'noop' | 'thrown' | 'cancelled' | 'untracked'
  foldedInto?: EditLog
}

/** A client of the schedule, with what it told the app. */
export class FuzzClient {
  readonly net: TestNetwork = createTestNetwork()
  readonly client: Client
  readonly rejected: ClientEvents['rejected'][] = []
  readonly conflicts = new Set<string>()
  readonly edits: EditLog[] = []
  readonly errors: unknown[] = []

  constructor(
    readonly block: Block,
    readonly device: FuzzDevice,
    readonly spec: ClientSpec,
    store: LocalStore,
  ) {
    this.client = createClient({
      url: block.url,
      models: MODELS,
      store,
      clientId: device.deviceId,
      auth: () => ({ token: device.access }),
      onUnauthorized: async () => {
        if (device.expired) await block.refreshDevice(device)
      },
      fetch: this.net.fetch,
      WebSocket: spec.transport === 'http' ? null : this.net.WebSocket,
      onError: (e) => this.errors.push(e),
      timings: FAST_TIMINGS,
      clock: { now: () => Date.now() + spec.skew, after: systemClock.after },
    })
    this.client.on('rejected', (e) => this.rejected.push(e))
    this.client.on('conflict', (e) => this.conflicts.add(e.conflict.id))
  }

  get name(): string {
    return `${this.device.name}/${this.spec.transport}`
  }

  /** The `at`s of the record's queued mutations. */
  private ats(id: string): Set<string> {
    return new Set(
      this.client
        .outbox()
        .filter((e) => e.mutation.id === id)
        .map((e) => e.mutation.at),
    )
  }

  /** Makes a local edit, noting which outbox entry carries it and which earlier edits it absorbed. */
  async edit(label: string, model: string, id: string, run: () => Promise<unknown>): Promise<void> {
    const before = this.ats(id)
    const log: EditLog = { label, model, id, outcome: 'queued' }
    try {
      await run()
    } catch {
      // Refused at once (invalid, or the record is gone here): the app was told by the call itself.
      log.outcome = 'thrown'
      this.edits.push(log)
      return
    }
    const after = this.ats(id)
    const fresh = [...after].filter((at) => !before.has(at))
    const gone = [...before].filter((at) => !after.has(at))
    for (const earlier of this.edits) if (earlier.id === id && earlier.at && gone.includes(earlier.at)) earlier.foldedInto = log
    if (fresh.length === 1) log.at = fresh[0]
    else if (fresh.length > 1) throw new Error(`${label}: one edit queued ${fresh.length} mutations`)
    else log.outcome = gone.length > 0 ? 'cancelled' : label.startsWith('delete') ? 'untracked' : 'noop'
    this.edits.push(log)
  }
}

/** Counts printed at the end. */
export interface ClientFuzzStats {
  schedules: number
  blocks: number
  commands: number
  edits: number
  restarts: number
  fates: Record<string, number>
}

export interface Schedule {
  block: Block
  clients: FuzzClient[]
  stats: ClientFuzzStats
  /** The records the schedule edits: the block's last ones, then those it creates. */
  ids: { model: string; id: string }[]
  /** The push log position when the schedule began. */
  since: number
}

type Cmd = fc.AsyncCommand<object, Schedule>

const command = (label: string, run: (s: Schedule) => Promise<void>): Cmd => ({
  check: () => true,
  async run(_model, s) {
    s.stats.commands += 1
    await run(s)
    if (s.block.problems.length > 0)
      throw new Error(`after ${label}: the server diverged from the reference:\n${s.block.problems.join('\n')}`)
  },
  toString: () => label,
})

const pick = <T>(items: readonly T[], n: number): T | undefined => items[n % Math.max(1, items.length)]

/** A local edit by client `c`: a create in organization `org`, or an update or delete of one of the schedule's records it shows. */
async function localEdit(s: Schedule, c: number, org: number, edit: Edit): Promise<void> {
  const client = pick(s.clients, c) as FuzzClient
  const orgId = s.block.orgIds[org % 2] as string
  if (edit.kind === 'create') {
    const id = crypto.randomUUID()
    s.ids.push({ model: edit.model, id })
    const data =
      edit.model === 'memo' ? { id, text: edit.memo, orgId } : { id, ...NOTE_DEFAULTS, ...noteData(NOTE_DEFAULTS, edit.note), orgId }
    await client.edit(`create ${edit.model}`, edit.model, id, () => client.client.create(edit.model, data as never))
    return
  }
  const shown: { model: string; record: WireRecord }[] = []
  for (const { model, id } of s.ids) {
    const record = await client.client.get(model, id)
    if (record) shown.push({ model, record })
  }
  const target = pick(shown, 'pick' in edit ? edit.pick : 0)
  if (!target) return
  const { model, record } = target
  if (edit.kind === 'delete') {
    await client.edit('delete', model, record.id, () => client.client.delete(model, record.id))
  } else if (edit.kind === 'invalid') {
    const bad: Record<string, Record<string, unknown>> = {
      wrongType: { priority: 'high' },
      tooLong: { title: 'x'.repeat(201) },
      badEnum: { status: 'someday' },
      unknownField: { colour: 'red' },
      unknownModel: { x: 1 },
    }
    const data = model === 'memo' ? { text: 7 } : (bad[edit.variant] as Record<string, unknown>)
    await client.edit(`invalid ${edit.variant}`, model, record.id, () =>
      edit.variant === 'unknownModel' ? client.client.create('widget', {} as never) : client.client.update(model, record.id, data as never),
    )
  } else {
    const data = model === 'memo' ? { text: edit.memo } : noteData(record as unknown as Record<string, unknown>, edit.note)
    await client.edit(`update ${JSON.stringify(data)}`, model, record.id, () => client.client.update(model, record.id, data as never))
  }
}

/** A REST write of one of the schedule's records, with a device's token or an organization's API token. */
async function restWrite(
  s: Schedule,
  n: number,
  via: { kind: 'device' | 'service'; who: number },
  edit: { kind: 'patch'; note: NoteEdits; memo: string } | { kind: 'delete' },
): Promise<void> {
  const target = pick(s.ids, n)
  if (!target) return
  const current = s.block.reference.get(target.model, target.id)
  if (!current) return
  const api = via.kind === 'device' ? await s.block.deviceApi(pick(s.block.devices, via.who) as FuzzDevice) : s.block.serviceApi(via.who)
  const path = `/api/${target.model}s/${target.id}`
  // The instrumented engine checks the answer against the reference; a refusal (404) is fine if the reference refuses too.
  const res =
    edit.kind === 'delete'
      ? await api.delete(path)
      : await api.patch(path, target.model === 'memo' ? { text: edit.memo } : noteData(current.values, edit.note))
  if (res.status >= 500) throw new Error(`REST ${path}: ${res.status} ${res.text}`)
}

/** Device `c` settles one of the block's conflicts through its client (§5). */
async function resolveByDevice(s: Schedule, c: number, n: number, choice: 'local' | 'remote' | 'custom'): Promise<void> {
  const client = pick(s.clients, c) as FuzzClient
  const conflict = pick(s.block.conflicts, n)
  if (!conflict) return
  try {
    await client.client.resolveConflict(conflict.id, choice, choice === 'custom' ? { secret: `custom ${n % 3}` } : undefined)
  } catch {
    // Offline, settled already, deleted or out of scope: the engine's answer was checked against the reference.
  }
}

/** User A leaves organization O2, or comes back to it (invited by B, accepting). */
async function membership(s: Schedule, leave: boolean): Promise<void> {
  const { block } = s
  const [a, b] = block.users
  const orgId = block.orgIds[1] as string
  if (!a || !b) return
  const members = block.members.get(orgId) as Set<string>
  if (leave && members.has(a.userId)) {
    const res = await a.api.delete(`/api/orgs/${orgId}/members/${a.userId}`)
    if (res.status !== 204) throw new Error(`leave: ${res.status} ${res.text}`)
    members.delete(a.userId)
  } else if (!leave && !members.has(a.userId)) {
    const signed = (u: typeof a) => ({ userId: u.userId, username: u.name, deviceId: '', access: '', refresh: '', api: u.api })
    await joinOrg(signed(b), signed(a), orgId)
    members.add(a.userId)
  }
}

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      model: fc.oneof({ weight: 4, arbitrary: fc.constant('note' as const) }, fc.constant('memo' as const)),
      note: noteEditsArb,
      memo: memoTextArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      pick: fc.nat(),
      note: noteEditsArb.filter((e) => Object.keys(e).length > 0),
      memo: memoTextArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('invalid' as const),
      pick: fc.nat(),
      variant: pool('wrongType' as const, 'tooLong' as const, 'badEnum' as const, 'unknownModel' as const, 'unknownField' as const),
    }),
  },
)

const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.nat(3), fc.nat(1), editArb)
      .map(([c, org, e]) => command(`edit(${c}, org ${org}, ${JSON.stringify(e)})`, (s) => localEdit(s, c, org, e))),
  },
  {
    weight: 2,
    arbitrary: fc.nat(3).map((c) =>
      command(`offline(${c})`, async (s) => {
        pick(s.clients, c)?.net.down()
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.nat(3).map((c) =>
      command(`online(${c})`, async (s) => {
        pick(s.clients, c)?.net.up()
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 0, max: 25 }).map((ms) => command(`pause(${ms} ms)`, async () => void (await sleep(ms)))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.record({ kind: pool('device' as const, 'service' as const), who: fc.nat(3) }),
        fc.oneof(
          { weight: 4, arbitrary: fc.record({ kind: fc.constant('patch' as const), note: noteEditsArb, memo: memoTextArb }) },
          { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
        ),
      )
      .map(([n, via, edit]) => command(`rest(${n}, ${via.kind} ${via.who}, ${JSON.stringify(edit)})`, (s) => restWrite(s, n, via, edit))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(3), fc.nat(), pool('local' as const, 'remote' as const, 'custom' as const))
      .map(([c, n, choice]) => command(`resolveConflict(${c}, ${n}, ${choice})`, (s) => resolveByDevice(s, c, n, choice))),
  },
  {
    weight: 1,
    arbitrary: fc.boolean().map((leave) => command(leave ? 'A leaves O2' : 'A rejoins O2', (s) => membership(s, leave))),
  },
  {
    weight: 1,
    arbitrary: fc.nat(3).map((c) =>
      command(`expireToken(${c})`, async (s) => {
        const client = pick(s.clients, c) as FuzzClient
        client.device.access = await s.block.expiredToken(client.device)
        client.device.expired = true
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constant(
      command('restartServer', async (s) => {
        s.stats.restarts += 1
        await s.block.restart()
      }),
    ),
  },
)

const clientSpecsArb: fc.Arbitrary<ClientSpec[]> = fc
  .uniqueArray(fc.nat(3), { minLength: 2, maxLength: 4 })
  .chain((devices) =>
    fc.tuple(
      ...devices.map((device) =>
        fc.record({ device: fc.constant(device), transport: pool('websocket' as const, 'http' as const), skew: fc.constantFrom(...SKEWS) }),
      ),
    ),
  )

/** How a run is set up. */
export interface ClientFuzzRun {
  label: string
  seed: number
  runs: number
  maxCommands: number
  /** Schedules one server and its accounts serve. */
  blockSize: number
  store: 'memory' | 'sqlite'
}

/** Runs the property: `runs` schedules from `seed`; prints a summary. */
export async function assertClientConvergence(run: ClientFuzzRun): Promise<void> {
  const stats: ClientFuzzStats = { schedules: 0, blocks: 0, commands: 0, edits: 0, restarts: 0, fates: {} }
  let block: Block | undefined
  const started = performance.now()
  const property = fc.asyncProperty(
    clientSpecsArb,
    fc.commands([commandArb], { maxCommands: run.maxCommands, size: 'max' }),
    async (specs, commands) => {
      stats.schedules += 1
      if (process.env.FC_PROGRESS && stats.schedules % Number(process.env.FC_PROGRESS) === 0)
        console.log(
          `${run.label}: ${stats.schedules} schedules, ${stats.edits} edits, ${((performance.now() - started) / 1000).toFixed(0)} s`,
        )
      if (!block || block.schedules >= run.blockSize) {
        await block?.close()
        block = await Block.open(run.label.replace(/\W+/g, '-'))
        stats.blocks += 1
      }
      const current = block
      current.schedules += 1
      current.touched.clear()
      const storeDir = run.store === 'sqlite' ? mkdtempSync(join(current.dir, 'clients-')) : ''
      const clients = specs.map(
        (spec) =>
          new FuzzClient(
            current,
            current.devices[spec.device] as FuzzDevice,
            spec,
            run.store === 'sqlite' ? createSqliteStore(join(storeDir, `${spec.device}.db`)) : createMemoryStore(),
          ),
      )
      // The last records of the block's earlier schedules are edited too: every client has them at the start.
      const ids = current.reference
        .all()
        .slice(-4)
        .map((r) => ({ model: r.model, id: r.id }))
      const schedule: Schedule = { block: current, clients, stats, ids, since: current.lastSeq }
      let failed = true
      try {
        // Each client starts from the server's records (its first sync), so its first edits meet others'.
        await Promise.all(clients.map((c) => within(10_000, `${c.name} first whenSynced()`, c.client.whenSynced())))
        await fc.asyncModelRun(() => ({ model: {}, real: schedule }), commands)
        await settle(schedule)
        await check(schedule)
        failed = false
      } finally {
        await Promise.all(clients.map((c) => c.client.close().catch(() => {})))
        if (failed) {
          // A failing schedule's shrunk replays each start on a fresh server.
          await current.close()
          block = undefined
        }
      }
    },
  )
  try {
    await fc.assert(property, { seed: run.seed, numRuns: run.runs })
  } finally {
    await block?.close()
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `${run.label}: ${stats.schedules} schedules (FC_SEED=${run.seed}, FC_RUNS=${run.runs}) on ${stats.blocks} servers, ${stats.commands} commands, ${stats.restarts} restarts, ${stats.edits} edits by fate ${JSON.stringify(stats.fates)}, ${seconds} s`,
    )
  }
}
