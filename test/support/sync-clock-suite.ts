/**
 * Clock rules against a real server (PROTOCOL.md §4–§5), once per database: a device's clock
 * entry moves only with its own pushes (REST writes and conflict resolutions made with its
 * token move the `server` entry, so its offline edits made before them still apply or merge);
 * `at` is clamped to the server's HLC time, so later honest edits beat skewed clocks; and
 * `If-Match` lets exactly one of two racing PATCHes apply.
 */
import { uuidv7 } from '@pulse/core'
import type { RunningServer, SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn } from './accounts.ts'
import type { httpClient } from './server.ts'
import { startTestServer } from './server.ts'
import { syncSchema } from './sync-models.ts'

type Json = Record<string, any>
type Api = ReturnType<typeof httpClient>

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A signed-in device pushing over HTTP with its own mids. */
class Device {
  mid = 0
  constructor(
    readonly id: string,
    readonly api: Api,
  ) {}
  async push(...mutations: Json[]): Promise<Json> {
    const res = await this.api.post('/api/sync/push', { clientId: this.id, mutations })
    expect(res.status, res.text).toBe(200)
    return res.json
  }
  /** The result of one mutation, pushed alone. */
  async one(mutation: Json): Promise<Json> {
    return (await this.push(mutation)).results[0]
  }
  m(op: 'create' | 'update' | 'delete', id: string, vclock: Json, data?: Json, baseVersion?: number, at = new Date().toISOString()): Json {
    this.mid += 1
    return {
      mid: this.mid,
      model: 'note',
      op,
      id,
      vclock,
      at,
      ...(data ? { data } : {}),
      ...(baseVersion !== undefined ? { baseVersion } : {}),
    }
  }
}

export function runClockSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`clock rules and If-Match on ${name}`, () => {
    let server: RunningServer
    let n = 0
    beforeAll(async () => {
      server = await startTestServer(syncSchema, await makeStorage(), { auth: true })
    })
    afterAll(async () => {
      await server?.close()
    })

    /** Two fresh devices of one user (mids and clocks start over), and a note A created at {A:1}. */
    async function note(data: Json = {}): Promise<{ A: Device; B: Device; id: string }> {
      n += 1
      const [a, b] = await Promise.all([signIn(server.url, 'clock-user', `A${n}`), signIn(server.url, 'clock-user', `B${n}`)])
      const A = new Device(a.deviceId, a.api)
      const B = new Device(b.deviceId, b.api)
      const id = uuidv7()
      expect(await A.one(A.m('create', id, { [A.id]: 1 }, { title: 'created', ...data }))).toMatchObject({ status: 'applied' })
      return { A, B, id }
    }

    it('a REST write with a device\u2019s token moves the server entry: the device\u2019s offline edit of another field merges', async () => {
      const { A, id } = await note({ color: 'grey' })
      // Offline, A edits the color (its clock {A:2}); meanwhile a REST PATCH with A's own token.
      const offline = A.m('update', id, { [A.id]: 2 }, { color: 'red' }, 1)
      const patched = await A.api.patch(`/api/notes/${id}`, { title: 'from REST' })
      expect(patched.status).toBe(200)
      expect(patched.json.vclock).toEqual({ [A.id]: 1, server: 1 })
      const res = await A.one(offline)
      expect(res).toMatchObject({ status: 'merged', record: { title: 'from REST', color: 'red', version: 3 } })
      expect(res.record.vclock).toEqual({ [A.id]: 2, server: 1 })
      // A REST delete moves the server entry too; A's next edit, made before it, is then stale.
      const deleted = await A.api.delete(`/api/notes/${id}`)
      expect(deleted.status).toBe(204)
      const late = await A.one(A.m('update', id, { [A.id]: 3, server: 1 }, { title: 'too late' }, 3))
      expect(late).toMatchObject({ status: 'stale', record: { version: 4, vclock: { [A.id]: 2, server: 2 } } })
    })

    it('an offline edit of the same field is settled by its policy against the REST write: the later one wins (lww)', async () => {
      const before = await note({ title: 'base' })
      const early = before.A.m(
        'update',
        before.id,
        { [before.A.id]: 2 },
        { title: 'offline, earlier' },
        1,
        new Date(Date.now() - 60_000).toISOString(),
      )
      expect((await before.A.api.patch(`/api/notes/${before.id}`, { title: 'REST, later' })).status).toBe(200)
      expect(await before.A.one(early)).toMatchObject({ status: 'merged', record: { title: 'REST, later' } })

      const after = await note({ title: 'base' })
      expect((await after.A.api.patch(`/api/notes/${after.id}`, { title: 'REST, earlier' })).status).toBe(200)
      await sleep(5)
      const later = after.A.m('update', after.id, { [after.A.id]: 2 }, { title: 'offline, later' }, 1)
      expect(await after.A.one(later)).toMatchObject({ status: 'merged', record: { title: 'offline, later' } })
    })

    it('a conflict resolved with a device\u2019s token while that device has an edit pending: the edit still applies', async () => {
      const { A, B, id } = await note({ secret: 'base' })
      expect(await B.one(B.m('update', id, { [A.id]: 1, [B.id]: 1 }, { secret: 'from B' }, 1))).toMatchObject({ status: 'applied' })
      const opened = await A.one(A.m('update', id, { [A.id]: 2 }, { secret: 'from A' }, 1))
      expect(opened).toMatchObject({ status: 'conflict', record: { version: 3 } })
      // A edits the title on top of the conflict's answer; before that edit is pushed, A settles the conflict.
      const pending = A.m('update', id, { ...opened.record.vclock, [A.id]: 3 }, { title: 'edited while pending' }, 3)
      const resolved = await A.api.post(`/api/sync/conflicts/${opened.conflict.id}/resolve`, { choice: 'local' })
      expect(resolved.status, resolved.text).toBe(200)
      expect(resolved.json.record).toMatchObject({ secret: 'from A', version: 4, vclock: { [A.id]: 2, [B.id]: 1, server: 1 } })
      const res = await A.one(pending)
      expect(res).toMatchObject({ status: 'merged', record: { title: 'edited while pending', secret: 'from A', version: 5 } })
    })

    it('at is clamped to the server\u2019s HLC time: later honest edits win over skewed clocks (\u22121 h, +1 h, +1 year)', async () => {
      for (const skewMs of [-3_600_000, 3_600_000, 365 * 86_400_000]) {
        const { A, B, id } = await note({ title: 'base' })
        // B's clock is off by skewMs; A's is right and edits after B's edit reached the server.
        const skewed = await B.one(
          B.m('update', id, { [A.id]: 1, [B.id]: 1 }, { title: 'skewed' }, 1, new Date(Date.now() + skewMs).toISOString()),
        )
        expect(skewed.status).toBe('applied')
        const stamped = (await A.api.get(`/api/notes/${id}/history`)).json.items.at(-1).at
        expect(Date.parse(stamped), `skew ${skewMs}`).toBeLessThanOrEqual(Date.now())
        await sleep(5)
        const honest = await A.one(A.m('update', id, { [A.id]: 2 }, { title: 'honest, later' }, 1))
        expect(honest, `skew ${skewMs}`).toMatchObject({ status: 'merged', record: { title: 'honest, later' } })
      }
      // And a future-stamped edit that does come later still wins: it is clamped, not dropped.
      const { A, B, id } = await note({ title: 'base' })
      expect(await A.one(A.m('update', id, { [A.id]: 2 }, { title: 'honest, earlier' }, 1))).toMatchObject({ status: 'applied' })
      await sleep(5)
      const future = await B.one(B.m('update', id, { [A.id]: 1, [B.id]: 1 }, { title: 'future, later' }, 1, '2099-01-01T00:00:00.000Z'))
      expect(future).toMatchObject({ status: 'merged', record: { title: 'future, later' } })
    })

    it('If-Match: of two PATCHes at the same version sent together, exactly one applies', async () => {
      const { A, id } = await note({ title: 'raced' })
      for (let round = 1; round <= 10; round++) {
        const version = round
        const [x, y] = await Promise.all(
          ['x', 'y'].map((who) => A.api.patch(`/api/notes/${id}`, { title: `${who} ${round}` }, { 'if-match': String(version) })),
        )
        expect([x?.status, y?.status].sort(), `round ${round}`).toEqual([200, 409])
        const loser = x?.status === 409 ? x : y
        expect(loser?.json.error.code).toBe('version_conflict')
      }
      const record = (await A.api.get(`/api/notes/${id}`)).json
      expect(record.version).toBe(11)
      expect((await A.api.get(`/api/notes/${id}/history`)).json.items).toHaveLength(11)
    })
  })
}
