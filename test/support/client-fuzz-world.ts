/**
 * The world of the real-client convergence fuzz (test/client-convergence.fuzz.test.ts): a real
 * server with accounts on, on a SQLite file, restartable on the same file and port; two users
 * with two devices each, in two organizations; an API token per organization; and the
 * reference model of §4–§5 (reference-model.ts) that every decision of the server is checked
 * against as it is made.
 *
 * The server's engine is instrumented, not replaced: its `push`, `writeOne` (REST) and
 * `resolveConflict` are wrapped so that they run one at a time (2 ms apart, so that every `at`
 * a device could have learnt from an earlier commit is before the next decision's time), and
 * each answer is compared with the reference fed the same call, with §8 scope judged by the
 * actor the server authenticated. Every push is logged with its answer: the fate of each edit
 * is read from that log. A block (one server, its users and devices) serves many schedules:
 * logins hash passwords, which would cost more than a schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Mutation, PushResponse, PushResult, WireRecord } from '@pulse/core'
import { createAccessTokens, createSqliteStorage, type RunningServer, startServer } from '@pulse/server'
import { makeOrg } from './accounts.ts'
import { freePort } from './client-harness.ts'
import { canonical, ReferenceServer, type RefRecord, type ScopeCheck } from './reference-model.ts'
import { httpClient, TEST_SECRET } from './server.ts'
import { orgSyncSchema } from './sync-models.ts'

const PASSWORD = 'correct horse battery staple'

type Api = ReturnType<typeof httpClient>

/** The actor the server authenticated, as the instrumented engine sees it. */
interface SeenActor {
  userId: string | null
  deviceId: string | null
  orgIds: readonly string[]
  admin: boolean
}

/** One push the engine answered (or failed), in the order the engine ran them. */
export interface LoggedPush {
  seq: number
  clientId: string
  mutations: readonly Mutation[]
  /** Absent when the engine threw: nothing was applied. */
  response?: PushResponse
}

/** A conflict a push opened, with the values a resolution may choose. */
export interface KnownConflict {
  id: string
  model: string
  recordId: string
  local: Record<string, unknown>
  remote: Record<string, unknown>
  open: boolean
}

/** A signed-in device: its tokens change with refreshes and injected expiries. */
export interface FuzzDevice {
  name: string
  user: FuzzUser
  deviceId: string
  access: string
  refresh: string
  /** The access token now handed out is an expired one (the fuzz made it so). */
  expired: boolean
  refreshing?: Promise<void>
}

export interface FuzzUser {
  name: string
  userId: string
  /** A session of the user's own for account calls (memberships); never expired by the fuzz. */
  api: Api
}

/** A record as the engine returns it (values apart), as the wire carries it. */
function wireOf(stored: unknown): WireRecord {
  const { values, fieldVersions: _f, ...system } = stored as { values: Record<string, unknown>; fieldVersions?: unknown }
  return { ...values, ...system } as WireRecord
}

/** Something the server answered that the reference did not expect. */
export class Divergence extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function login(base: string, username: string, deviceName: string) {
  const res = await httpClient(base).post('/api/auth/login', { username, password: PASSWORD, deviceName })
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`)
  return res.json as { access: string; refresh: string; user: { id: string }; device: { id: string } }
}

/** One server and its accounts, serving a block of schedules. */
export class Block {
  readonly reference: ReferenceServer
  readonly log: LoggedPush[] = []
  readonly conflicts: KnownConflict[] = []
  /** What the server answered that the reference did not: the schedule fails with these. */
  readonly problems: string[] = []
  /** Records changed by a write since the counter was last read (history is compared for these). */
  readonly touched = new Set<string>()
  users: FuzzUser[] = []
  devices: FuzzDevice[] = []
  orgIds: string[] = []
  /** Per organization: an API token (a service) of it. */
  serviceTokens: string[] = []
  /** Who is in which organization now (kept by the membership commands). */
  readonly members = new Map<string, Set<string>>()
  schedules = 0
  restarts = 0
  private running: RunningServer | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private seq = 0
  /** The server's time the reference clamps `at`s to: the start of the call being decided. */
  private decisionMs = Date.now()
  private readonly expiredSigner = createAccessTokens(new TextEncoder().encode(TEST_SECRET), 60, () => Date.now() - 3_600_000)

  private constructor(
    readonly dir: string,
    readonly file: string,
    readonly port: number,
  ) {
    this.reference = new ReferenceServer(orgSyncSchema, () => this.decisionMs)
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get server(): RunningServer {
    if (!this.running) throw new Error('the server is stopped')
    return this.running
  }

  /** A new block: server, two users (devices A1 A2, B1 B2), organizations O1 {A owner, B} and O2 {B owner, A}, a token for each. */
  static async open(label: string): Promise<Block> {
    const dir = mkdtempSync(join(tmpdir(), `pulse-client-fuzz-${label}-`))
    const block = new Block(dir, join(dir, 'server.db'), await freePort())
    await block.start()
    const anonymous = httpClient(block.url)
    for (const name of ['fuzz-a', 'fuzz-b']) {
      const reg = await anonymous.post('/api/auth/register', { username: name, password: PASSWORD })
      if (reg.status !== 201) throw new Error(`register ${name}: ${reg.status} ${reg.text}`)
    }
    for (const [u, name] of ['fuzz-a', 'fuzz-b'].entries()) {
      for (const d of [1, 2]) {
        const s = await login(block.url, name, `${name} device ${d}`)
        let user = block.users[u]
        if (!user) {
          user = { name, userId: s.user.id, api: httpClient(block.url, { authorization: `Bearer ${s.access}` }) }
          block.users.push(user)
        }
        block.devices.push({
          name: `${name[5]?.toUpperCase()}${d}`,
          user,
          deviceId: s.device.id,
          access: s.access,
          refresh: s.refresh,
          expired: false,
        })
      }
    }
    const [a, b] = block.users as [FuzzUser, FuzzUser]
    const signedIn = (u: FuzzUser) => ({ userId: u.userId, username: u.name, deviceId: '', access: '', refresh: '', api: u.api })
    block.orgIds = [await makeOrg(signedIn(a), 'O1', [signedIn(b)]), await makeOrg(signedIn(b), 'O2', [signedIn(a)])]
    for (const orgId of block.orgIds) {
      block.members.set(orgId, new Set([a.userId, b.userId]))
      const token = await block.server.accounts?.createApiToken({ name: `service of ${orgId}`, orgId })
      if (!token) throw new Error('no accounts')
      block.serviceTokens.push(token.token)
    }
    return block
  }

  async start(): Promise<void> {
    this.running = await startServer({
      schema: orgSyncSchema,
      database: await createSqliteStorage({ filename: this.file }),
      port: this.port,
      logger: false,
      auth: { secret: TEST_SECRET, allowRegistration: true, tokenRatePerSecond: 100_000, apiTokenRatePerSecond: 100_000 },
      realtime: { gapWaitMs: 20, recheckIntervalMs: 300 },
    })
    this.instrument(this.running)
  }

  async stop(): Promise<void> {
    const r = this.running
    this.running = undefined
    await r?.close()
  }

  async restart(): Promise<void> {
    this.restarts += 1
    await this.stop()
    await this.start()
  }

  async close(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** An access token of the device that expired an hour ago: signed with the server's key, for the device's session. */
  async expiredToken(device: FuzzDevice): Promise<string> {
    return (await this.expiredSigner.sign(device.user.userId, device.deviceId, 0)).token
  }

  /** Refreshes the device's tokens (one refresh at a time: a second use of a refresh token would sign the device out). */
  refreshDevice(device: FuzzDevice): Promise<void> {
    device.refreshing ??= (async () => {
      try {
        const res = await httpClient(this.url).post('/api/auth/refresh', { refresh: device.refresh })
        if (res.status !== 200) throw new Error(`refresh of ${device.name}: ${res.status} ${res.text}`)
        device.access = res.json.access
        device.refresh = res.json.refresh
        device.expired = false
      } finally {
        device.refreshing = undefined
      }
    })()
    return device.refreshing
  }

  /** An HTTP client with the device's access token (refreshed first if the fuzz expired it). */
  async deviceApi(device: FuzzDevice): Promise<Api> {
    if (device.expired) await this.refreshDevice(device)
    return httpClient(this.url, { authorization: `Bearer ${device.access}` })
  }

  serviceApi(org: number): Api {
    return httpClient(this.url, { 'x-auth-token': this.serviceTokens[org % this.serviceTokens.length] as string })
  }

  /** Runs engine calls one at a time, each decided at least 2 ms after the last commit. */
  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      await sleep(2)
      this.decisionMs = Date.now()
      return run()
    })
    this.queue = next.catch(() => {})
    return next
  }

  private problem(what: string): void {
    this.problems.push(what)
  }

  /** §8 as the server judged the actor: may it read and write records of `orgId`? */
  private static inScope(actor: SeenActor, record: { values: Record<string, unknown> } | undefined): boolean {
    return record !== undefined && (actor.admin || actor.orgIds.includes(record.values.orgId as string))
  }

  private instrument(server: RunningServer): void {
    const engine = server.engine as unknown as Record<string, unknown>
    const push = server.engine.push.bind(server.engine)
    const writeOne = server.engine.writeOne.bind(server.engine)
    const resolveConflict = server.engine.resolveConflict.bind(server.engine)
    const storage = server.storage
    // §8: a write is judged by the memberships at its commit; when they changed since the
    // request authenticated, its transaction reads them again (`userOrgIds`), and the reference
    // must judge it by those. Engine calls run one at a time here, so the last read is the call's.
    const reread = new Map<string, readonly string[]>()
    const transaction = storage.transaction.bind(storage)
    ;(storage as { transaction: typeof transaction }).transaction = (fn, signal) =>
      transaction(
        (tx) =>
          fn(
            Object.create(tx, {
              userOrgIds: {
                value: async (userId: string) => {
                  const orgIds = await tx.userOrgIds(userId)
                  reread.set(userId, orgIds)
                  return orgIds
                },
              },
            }),
          ),
        signal,
      )
    /** The actor as the last engine call's transaction judged it (`reread` is cleared before each call). */
    const judged = (actor: SeenActor): SeenActor => {
      const orgIds = actor.userId === null ? undefined : reread.get(actor.userId)
      return orgIds ? { ...actor, orgIds } : actor
    }

    /** The server's stored `at` of each history entry of the records a call changed: later lww ties compare them. */
    const syncAts = async (changed: Iterable<{ model: string; id: string }>) => {
      for (const { model, id } of changed) {
        this.touched.add(`${model}\u0000${id}`)
        for (const h of await storage.listHistory(orgSyncSchema.model(model), id)) this.reference.setAt(model, id, h.version, h.at)
      }
    }

    engine.push = (ctx: { actor: SeenActor }, request: { clientId: string; mutations: readonly Mutation[] }) =>
      this.serial(async () => {
        const entry: LoggedPush = { seq: ++this.seq, clientId: request.clientId, mutations: request.mutations }
        this.log.push(entry)
        reread.clear()
        const response = await push(ctx as never, request as never)
        entry.response = response
        this.checkPush(judged(ctx.actor), request.clientId, request.mutations, response)
        await syncAts(
          response.results
            .filter((r) => r.status === 'applied' || r.status === 'merged' || r.status === 'conflict')
            .map((r) => ({ model: request.mutations.find((m) => m.mid === r.mid)?.model as string, id: r.record?.id as string })),
        )
        return response
      })

    engine.writeOne = (ctx: { actor: SeenActor }, op: { op: string; model: string; id?: string; data?: Record<string, unknown> }) =>
      this.serial(async () => {
        const target = op.id === undefined ? undefined : this.reference.get(op.model, op.id)
        let outcome: { status: string; record: unknown } | undefined
        let failure: unknown
        reread.clear()
        try {
          outcome = await writeOne(ctx as never, op as never)
        } catch (e) {
          failure = e
        }
        const actor = judged(ctx.actor)
        const allowed = Block.inScope(actor, target)
        const what = `REST ${op.op} ${op.model} ${op.id} ${JSON.stringify(op.data ?? {})}`
        const at = new Date(this.decisionMs).toISOString()
        let after: RefRecord | undefined
        if (op.op === 'update' && allowed && target)
          after = this.reference.plainUpdate(op.model, target.id, op.data ?? {}, at, 'update', actor.deviceId)
        else if (op.op === 'delete' && allowed && target) after = this.reference.plainDelete(op.model, target.id, at, actor.deviceId)
        else if (op.op !== 'update' && op.op !== 'delete') this.problem(`${what}: the fuzz makes no such REST write`)
        if (after === undefined) {
          if (!failure) this.problem(`${what}: the server applied it; the reference refuses it (absent, deleted or out of scope)`)
        } else if (failure) {
          this.problem(`${what}: the server refused it (${String(failure)}); the reference applies it`)
        } else if (op.op === 'update' && outcome) {
          this.compare(wireOf(outcome.record), after, what)
        }
        if (after && op.id) await syncAts([{ model: op.model, id: op.id }])
        if (failure) throw failure
        return outcome
      })

    engine.resolveConflict = (
      ctx: { actor: SeenActor },
      id: string,
      choice: 'local' | 'remote' | 'custom',
      data?: Record<string, unknown>,
    ) =>
      this.serial(async () => {
        let answer: { conflict: unknown; record: unknown } | undefined
        let failure: unknown
        reread.clear()
        try {
          answer = (await resolveConflict(ctx as never, id, choice, data)) as never
        } catch (e) {
          failure = e
        }
        const actor = judged(ctx.actor)
        const what = `resolve ${choice} of conflict ${id}`
        const conflict = this.conflicts.find((c) => c.id === id)
        const target = conflict && this.reference.get(conflict.model, conflict.recordId)
        let after: RefRecord | undefined
        if (conflict?.open && Block.inScope(actor, target)) {
          const chosen = choice === 'local' ? conflict.local : choice === 'remote' ? conflict.remote : (data ?? {})
          after = this.reference.resolve(conflict.model, conflict.recordId, chosen, new Date(this.decisionMs).toISOString(), actor.deviceId)
        }
        if (after === undefined) {
          if (!failure) this.problem(`${what}: the server settled it; the reference refuses it (settled, deleted or out of scope)`)
        } else if (failure) {
          this.problem(`${what}: the server refused it (${String(failure)}); the reference settles it`)
        } else if (answer && conflict) {
          conflict.open = false
          this.compare(wireOf(answer.record), after, what)
          await syncAts([{ model: conflict.model, id: conflict.recordId }])
        }
        if (failure) throw failure
        return answer
      })
  }

  private compare(server: WireRecord, ref: RefRecord, detail: string): void {
    const { id, version, vclock, createdAt: _c, updatedAt: _u, deletedAt, ...values } = server
    const got = { id, version, vclock, deleted: deletedAt !== null, values }
    const want = { id: ref.id, version: ref.version, vclock: ref.vclock, deleted: ref.deleted, values: ref.values }
    if (canonical(got) !== canonical(want)) this.problem(`${detail}: the server has ${canonical(got)}; the reference ${canonical(want)}`)
  }

  /** One push answer against the reference fed the same mutations, scope judged by the server's actor. */
  private checkPush(actor: SeenActor, clientId: string, mutations: readonly Mutation[], response: PushResponse): void {
    const scope: ScopeCheck = (m, existing, values) => {
      if (actor.admin) return undefined
      if (values && !actor.orgIds.includes(values.orgId as string)) return 'forbidden'
      if (existing && !Block.inScope(actor, existing)) return m.op === 'create' ? 'id_taken' : 'not_found'
      return undefined
    }
    const expected = this.reference.push(clientId, mutations, scope)
    const where = `push by ${clientId}`
    if (canonical(response.results.map((r) => r.mid)) !== canonical(mutations.map((m) => m.mid)))
      this.problem(
        `${where}: results ${JSON.stringify(response.results.map((r) => r.mid))} for mids ${JSON.stringify(mutations.map((m) => m.mid))}`,
      )
    if (response.lastMid !== expected.lastMid) this.problem(`${where}: lastMid ${response.lastMid}, reference ${expected.lastMid}`)
    for (const [i, result] of response.results.entries()) {
      const answered = expected.results[i]
      // §8: a duplicate (or a replayed conflict, §4) answers with the record only when the caller
      // may read it now; without it, a replayed conflict is a plain duplicate.
      const ref =
        (answered?.status === 'duplicate' || answered?.status === 'conflict') && answered.record && !Block.inScope(actor, answered.record)
          ? { mid: answered.mid, status: 'duplicate' as const }
          : answered
      const m = mutations[i] as Mutation
      const detail = `${where}: mid ${m.mid} (${m.op} ${m.model} ${m.id} ${JSON.stringify(m.data ?? {})} vclock ${JSON.stringify(m.vclock)} base ${m.baseVersion}) answered ${JSON.stringify(result)}; reference ${JSON.stringify(ref)}`
      if (result.status !== ref?.status) {
        this.problem(detail)
        continue
      }
      if (result.status === 'rejected' && result.error?.code !== ref.errorCode) this.problem(`error code: ${detail}`)
      if ((result.record === undefined) !== (ref.record === undefined)) this.problem(`record: ${detail}`)
      if (result.record && ref.record) this.compare(result.record, ref.record, detail)
      if ((result.conflict === undefined) !== (ref.conflict === undefined)) this.problem(`conflict: ${detail}`)
      if (result.conflict && ref.conflict) {
        const { fields, base, local, remote } = result.conflict
        if (canonical({ fields, base, local, remote }) !== canonical(ref.conflict)) this.problem(`conflict body: ${detail}`)
        // A retry whose first answer was lost hears the same conflict again (§4).
        if (!this.conflicts.some((c) => c.id === result.conflict?.id))
          this.conflicts.push({ id: result.conflict.id, model: m.model, recordId: m.id, local, remote, open: true })
      }
    }
  }

  /** The results of this push log (from `since`) for one device's mutation, by its `at`, duplicates left out. */
  fatesOf(clientId: string, at: string, since: number): { entry: LoggedPush; mutation: Mutation; result: PushResult }[] {
    const out: { entry: LoggedPush; mutation: Mutation; result: PushResult }[] = []
    for (const entry of this.log) {
      if (entry.seq <= since || entry.clientId !== clientId || !entry.response) continue
      for (const [i, mutation] of entry.mutations.entries()) {
        const result = entry.response.results[i]
        if (mutation.at === at && result && result.status !== 'duplicate') out.push({ entry, mutation, result })
      }
    }
    return out
  }

  get lastSeq(): number {
    return this.seq
  }
}
