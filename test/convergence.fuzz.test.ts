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
 * Seeded so a failure replays: FC_SEED=<seed> FC_RUNS=<n> npx vitest run test/convergence.fuzz.test.ts
 * (fast-check prints the seed and the shrunk schedule).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Mutation, PushResponse, PushStatus, WireRecord } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type Edit,
  editArb,
  type Invalid,
  memoTextArb,
  NOTE_DEFAULTS,
  type NoteEdits,
  noteData,
  noteEditsArb,
} from './support/fuzz-edits.ts'
import { canonical, ReferenceServer, type RefRecord } from './support/reference-model.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { type Api, SimClient } from './support/sim-client.ts'
import { syncSchema } from './support/sync-models.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
const SEED = envInt('FC_SEED') ?? 20261123
const RUNS = envInt('FC_RUNS') ?? 100
const MAX_COMMANDS = envInt('FC_COMMANDS') ?? 120

// Simulated wall time: in the past, so the server never clamps an `at` (§4), and the same for
// every run of a seed, so a failure replays exactly.
const EPOCH_MS = Date.UTC(2026, 0, 1)

const ACCEPTED: ReadonlySet<PushStatus> = new Set(['applied', 'merged', 'conflict'])

interface Stats {
  schedules: number
  commands: number
  pushes: number
  statuses: Record<string, number>
}

class World {
  readonly clients: SimClient[]
  readonly reference = new ReferenceServer(syncSchema)
  /** Per record: how many answers said a new version was made. */
  readonly accepted = new Map<string, number>()
  /** Every conflict opened, in order, and whether it is still open. */
  readonly conflicts: {
    id: string
    model: string
    recordId: string
    local: Record<string, unknown>
    remote: Record<string, unknown>
    open: boolean
  }[] = []
  clockMs = EPOCH_MS
  private ids = 0

  constructor(
    readonly server: RunningServer,
    readonly api: Api,
    skews: readonly number[],
    readonly stats: Stats,
  ) {
    this.clients = skews.map(
      (skew, i) =>
        new SimClient(
          `dev${i}`,
          api,
          () => this.clockMs + skew,
          (c, m, r) => this.observe(c, m, r),
        ),
    )
  }

  client(n: number): SimClient {
    return this.clients[n % this.clients.length] as SimClient
  }

  /** Record ids made in order, so a schedule replays exactly. */
  nextId(): string {
    this.ids += 1
    return `00000000-0000-7000-8000-${this.ids.toString(16).padStart(12, '0')}`
  }

  /** Every push answer the server gave, checked against the reference fed the same mutations. */
  private observe(clientId: string, mutations: readonly Mutation[], response: PushResponse): void {
    this.stats.pushes += 1
    const expected = this.reference.push(clientId, mutations)
    const where = `push by ${clientId} of ${JSON.stringify(mutations)}`
    expect(
      response.results.map((r) => r.mid),
      `one result per mutation, in order: ${where}`,
    ).toEqual(mutations.map((m) => m.mid))
    expect(response.lastMid, where).toBe(expected.lastMid)
    for (const [i, result] of response.results.entries()) {
      const ref = expected.results[i]
      const m = mutations[i] as Mutation
      this.stats.statuses[result.status] = (this.stats.statuses[result.status] ?? 0) + 1
      const detail = `mid ${m.mid} of ${clientId} (${m.op} ${m.model} ${m.id}) answered ${JSON.stringify(result)}; reference ${JSON.stringify(ref)}`
      expect(result.status, detail).toBe(ref?.status)
      if (result.status === 'rejected') expect(result.error?.code, detail).toBe(ref?.errorCode)
      expect(result.record === undefined, detail).toBe(ref?.record === undefined)
      if (result.record && ref?.record) expectSameRecord(result.record, ref.record, detail)
      if (ACCEPTED.has(result.status)) this.accepted.set(m.id, (this.accepted.get(m.id) ?? 0) + 1)
      // §5 manual: the conflict names the fields with their base, local and remote values.
      expect(result.conflict === undefined, detail).toBe(ref?.conflict === undefined)
      if (result.conflict && ref?.conflict) {
        const { fields, base, local, remote, recordId, model, status, clientId: by } = result.conflict
        expect({ fields, base, local, remote, recordId, model, status, by }, detail).toEqual({
          ...ref.conflict,
          recordId: m.id,
          model: m.model,
          status: 'open',
          by: clientId,
        })
        this.conflicts.push({ id: result.conflict.id, model: m.model, recordId: m.id, local, remote, open: true })
      }
    }
  }

  /** §5: a person settles one of the conflicts opened so far (an already settled one answers 409). */
  async resolve(pick: number, choice: 'local' | 'remote' | 'custom'): Promise<void> {
    const conflict = this.conflicts[pick % Math.max(1, this.conflicts.length)]
    if (!conflict) return
    const data = { secret: `custom ${pick % 3}` }
    const res = await this.api.post(`/api/sync/conflicts/${conflict.id}/resolve`, choice === 'custom' ? { choice, data } : { choice })
    const detail = `resolve ${choice} of conflict ${JSON.stringify(conflict)}: ${res.status} ${res.text}`
    if (!conflict.open) {
      expect(res.status, detail).toBe(409)
      return
    }
    const before = this.reference.get(conflict.model, conflict.recordId)
    const chosen = choice === 'local' ? conflict.local : choice === 'remote' ? conflict.remote : data
    const after = this.reference.resolve(conflict.model, conflict.recordId, chosen, res.json?.record?.updatedAt ?? '')
    if (!after) {
      // The record was deleted since: nothing to settle, the conflict stays open.
      expect(res.status, detail).toBe(404)
      return
    }
    expect(res.status, detail).toBe(200)
    expect(res.json.conflict.status, detail).toBe('resolved')
    expectSameRecord(res.json.record, after, detail)
    conflict.open = false
    this.stats.statuses.resolved = (this.stats.statuses.resolved ?? 0) + 1
    if (after.version > (before?.version ?? 0)) this.accepted.set(conflict.recordId, (this.accepted.get(conflict.recordId) ?? 0) + 1)
  }

  /** A REST write (no device: it moves the `server` clock entry) of one of the server's records. */
  async rest(pick: number, edit: { kind: 'patch'; note: NoteEdits; memo: string } | { kind: 'delete' }): Promise<void> {
    const records = this.reference.all().sort((a, b) => (a.id < b.id ? -1 : 1))
    const target = records[pick % Math.max(1, records.length)]
    if (!target) return
    const path = `/api/${syncSchema.model(target.model).plural}/${target.id}`
    const before = target.version
    let after: RefRecord | undefined
    if (edit.kind === 'delete') {
      const res = await this.api.delete(path)
      after = this.reference.plainDelete(target.model, target.id, new Date().toISOString())
      expect(res.status, `DELETE ${path}: ${res.text}`).toBe(after ? 204 : 404)
    } else {
      const data = target.model === 'memo' ? { text: edit.memo } : noteData(target.values, edit.note)
      const res = await this.api.patch(path, data)
      after = this.reference.plainUpdate(target.model, target.id, data, res.json?.updatedAt ?? '')
      expect(res.status, `PATCH ${path} ${JSON.stringify(data)}: ${res.text}`).toBe(after ? 200 : 404)
      if (after) expectSameRecord(res.json as WireRecord, after, `PATCH ${path} ${JSON.stringify(data)}`)
    }
    this.stats.statuses.rest = (this.stats.statuses.rest ?? 0) + 1
    if (after && after.version > before) this.accepted.set(target.id, (this.accepted.get(target.id) ?? 0) + 1)
  }

  /** A local edit on one device. */
  edit(client: SimClient, edit: Edit): void {
    if (edit.kind === 'create') {
      const id = this.nextId()
      if (edit.model === 'memo') client.create('memo', id, { text: edit.memo })
      else client.create('note', id, { ...NOTE_DEFAULTS, ...noteData(NOTE_DEFAULTS, edit.note) })
      return
    }
    if (edit.kind === 'invalid' && edit.variant === 'unknownModel') {
      client.create('widget', this.nextId(), { x: 1 })
      return
    }
    const ids = client.editable()
    const id = ids[edit.pick % Math.max(1, ids.length)]
    if (id === undefined) return
    const local = client.store.get(id)
    if (!local) return
    const current = local.record as Record<string, unknown>
    if (edit.kind === 'delete') client.delete(id)
    else if (edit.kind === 'recreate') {
      const data = local.model === 'memo' ? { text: edit.memo } : { ...NOTE_DEFAULTS, ...noteData(NOTE_DEFAULTS, edit.note) }
      client.recreate(id, data)
    } else if (edit.kind === 'update') client.update(id, local.model === 'memo' ? { text: edit.memo } : noteData(current, edit.note))
    else if (local.model === 'memo') client.update(id, { text: 7 })
    else {
      const bad: Record<Invalid, Record<string, unknown>> = {
        unknownModel: {}, // made above: a create of a model the server does not have
        wrongType: { priority: 'high', title: 'kept?' },
        tooLong: { title: 'x'.repeat(201) },
        badEnum: { status: 'someday' },
        unknownField: { colour: 'red' },
      }
      client.update(id, bad[edit.variant])
    }
  }
}

/** The server's record agrees with the reference: version, clock, tombstone, every field. */
function expectSameRecord(server: WireRecord, ref: RefRecord, detail: string): void {
  const { id, version, vclock, createdAt: _c, updatedAt: _u, deletedAt, ...values } = server
  expect({ id, version, vclock, deleted: deletedAt !== null, values }, detail).toEqual({
    id: ref.id,
    version: ref.version,
    vclock: ref.vclock,
    deleted: ref.deleted,
    values: ref.values,
  })
}

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

describe('convergence of offline-first clients (fuzz)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-fuzz-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it(
    'every device ends with the server state, which is what the merge policies define; nothing lost, nothing applied twice',
    async () => {
      const stats: Stats = { schedules: 0, commands: 0, pushes: 0, statuses: {} }
      const started = performance.now()
      let n = 0
      const property = fc.asyncProperty(
        fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 2, maxLength: 4 }),
        fc.commands([commandArb], { maxCommands: MAX_COMMANDS, size: 'max' }),
        async (skews, commands) => {
          stats.schedules += 1
          n += 1
          const filename = join(dir, `run-${n}.db`)
          const server = await startTestServer(syncSchema, await createSqliteStorage({ filename }))
          try {
            const world = new World(server, httpClient(server.url), skews, stats)
            await fc.asyncModelRun(() => ({ model: {}, real: world }), commands)
            await settle(world)
            await checkConverged(world)
          } finally {
            await server.close()
            rmSync(filename, { force: true })
            rmSync(`${filename}-wal`, { force: true })
            rmSync(`${filename}-shm`, { force: true })
          }
        },
      )
      try {
        await fc.assert(property, { seed: SEED, numRuns: RUNS })
      } finally {
        // Shrinking a failure runs more schedules than FC_RUNS: they are counted too.
        const seconds = ((performance.now() - started) / 1000).toFixed(1)
        console.log(
          `convergence fuzz: ${stats.schedules} schedules run (FC_SEED=${SEED}, FC_RUNS=${RUNS}), ${stats.commands} commands, ${stats.pushes} pushes, statuses ${JSON.stringify(stats.statuses)}, ${seconds} s`,
        )
      }
    },
    60 * 60_000,
  )
})
