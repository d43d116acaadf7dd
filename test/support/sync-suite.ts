/**
 * The sync protocol over HTTP (PROTOCOL.md §2–§5) against a real server: every push status,
 * every merge policy, onDeleted, pull paging and cursor expiry. Run once per database (clock
 * rules and `at` clamping: sync-clock-suite.ts).
 */
import { uuidv7 } from '@pulse/core'
import type { RunningServer, SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn } from './accounts.ts'
import { type httpClient, startTestServer } from './server.ts'
import { syncSchema } from './sync-models.ts'

type Json = Record<string, any>

/** A simulated device: its own mids and clocks, pushing over HTTP. */
class Device {
  mid = 0
  constructor(
    readonly id: string,
    readonly api: ReturnType<typeof httpClient>,
  ) {}
  async push(...mutations: Json[]): Promise<Json> {
    const res = await this.api.post('/api/sync/push', { clientId: this.id, mutations })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    return res.json
  }
  /** A mutation with the next mid. */
  m(
    op: 'create' | 'update' | 'delete',
    model: string,
    id: string,
    vclock: Json,
    data?: Json,
    baseVersion?: number,
    at = new Date().toISOString(),
  ): Json {
    this.mid += 1
    return { mid: this.mid, model, op, id, vclock, at, ...(data ? { data } : {}), ...(baseVersion !== undefined ? { baseVersion } : {}) }
  }
}

export function runSyncSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`sync protocol over HTTP on ${name}`, () => {
    let server: RunningServer
    let api: ReturnType<typeof httpClient>
    let A: Device
    let B: Device
    let n = 0

    beforeAll(async () => {
      server = await startTestServer(syncSchema, await makeStorage(), { auth: true })
      api = (await signIn(server.url, 'sync-user', 'reader')).api
    })
    afterAll(async () => {
      await server?.close()
    })
    // Fresh device ids per test: mids and clocks start over.
    // Each device is a login of its own: its clientId is the device its token is bound to.
    const devices = async () => {
      n += 1
      const [a, b] = await Promise.all([signIn(server.url, 'sync-user', `A${n}`), signIn(server.url, 'sync-user', `B${n}`)])
      A = new Device(a.deviceId, a.api)
      B = new Device(b.deviceId, b.api)
    }

    /** A note created by A and known to both at version 1, clock {A:1}. */
    async function shared(data: Json = {}): Promise<{ id: string; record: Json }> {
      await devices()
      const id = uuidv7()
      const res = await A.push(A.m('create', 'note', id, { [A.id]: 1 }, data))
      expect(res.results[0].status).toBe('applied')
      return { id, record: res.results[0].record }
    }

    it('applies a create and an update that follows it (applied)', async () => {
      const { id, record } = await shared({ title: 'first' })
      expect(record).toMatchObject({ id, version: 1, title: 'first', vclock: { [A.id]: 1 } })
      const res = await A.push(A.m('update', 'note', id, { [A.id]: 2 }, { title: 'second' }, 1))
      expect(res).toMatchObject({
        lastMid: 2,
        results: [{ mid: 2, status: 'applied', record: { title: 'second', version: 2, vclock: { [A.id]: 2 } } }],
      })
    })

    it('merges concurrent edits of different fields, both kept (merged)', async () => {
      const { id } = await shared({ title: 't', status: 'todo' })
      await A.push(A.m('update', 'note', id, { [A.id]: 2 }, { title: 'from A' }, 1))
      const res = await B.push(B.m('update', 'note', id, { [A.id]: 1, [B.id]: 1 }, { color: 'red' }, 1))
      expect(res.results[0].status).toBe('merged')
      expect(res.results[0].record).toMatchObject({ title: 'from A', color: 'red', version: 3, vclock: { [A.id]: 2, [B.id]: 1 } })
    })

    it('answers stale for an edit the server already includes (BEFORE / EQUAL)', async () => {
      const { id } = await shared({ title: 'v1' })
      await A.push(A.m('update', 'note', id, { [A.id]: 2 }, { title: 'v2' }, 1))
      const older = await B.push(B.m('update', 'note', id, { [A.id]: 1 }, { title: 'old' }, 1))
      expect(older.results[0]).toMatchObject({ status: 'stale', record: { title: 'v2', version: 2 } })
      const equal = await B.push(B.m('update', 'note', id, { [A.id]: 2 }, { title: 'same clock' }, 2))
      expect(equal.results[0].status).toBe('stale')
    })

    it('answers duplicate for a retried push and applies nothing twice', async () => {
      const { id } = await shared({ score: 1 })
      const m = A.m('update', 'note', id, { [A.id]: 2 }, { title: 'once' }, 1)
      const first = await A.push(m)
      expect(first.results[0].status).toBe('applied')
      const again = await A.push(m)
      expect(again).toMatchObject({
        lastMid: first.lastMid,
        results: [{ mid: m.mid, status: 'duplicate', record: { title: 'once', version: 2 } }],
      })
      const history = await api.get(`/api/notes/${id}/history`)
      expect(history.json.items).toHaveLength(2)
    })

    it('rejects an invalid mutation, advances lastMid, goes on with the rest, and answers a retry with the same refusal (rejected)', async () => {
      await devices()
      const bad = A.m('create', 'note', uuidv7(), { [A.id]: 1 }, { priority: 'high' })
      const unknown = A.m('create', 'widget', uuidv7(), { [A.id]: 2 }, { x: 1 })
      const good = A.m('create', 'note', uuidv7(), { [A.id]: 3 }, { title: 'fine' })
      const res = await A.push(bad, unknown, good)
      expect(res.lastMid).toBe(good.mid)
      expect(res.results.map((r: Json) => r.status)).toEqual(['rejected', 'rejected', 'applied'])
      expect(res.results[0].error).toMatchObject({ code: 'validation_failed', field: 'priority' })
      expect(res.results[0].record).toBeUndefined()
      expect(res.results[1].error.code).toBe('not_found')
      // A retry (its first answer lost) hears the same refusal, not `duplicate`: the edit is
      // reported, not dropped; nothing is applied and lastMid stays, so it never blocks the queue.
      const again = await A.push(bad, unknown, good)
      expect(again.lastMid).toBe(good.mid)
      expect(again.results.map((r: Json) => r.status)).toEqual(['rejected', 'rejected', 'duplicate'])
      // Each marked as answered again, so a store that reused these mids can tell (§4).
      expect(again.results.map((r: Json) => r.replayed)).toEqual([true, true, true])
      expect(res.results.map((r: Json) => r.replayed)).toEqual([undefined, undefined, undefined])
      expect(again.results[0].error).toEqual(res.results[0].error)
      expect(again.results[1].error).toEqual(res.results[1].error)
    })

    it('refuses text no database can store per mutation: the others apply and lastMid advances', async () => {
      const { id } = await shared({ title: 'kept' })
      const [ok1, ok2] = [uuidv7(), uuidv7()]
      const res = await A.push(
        A.m('create', 'note', ok1, { [A.id]: 1 }, { title: 'fine 1' }),
        A.m('create', 'note', uuidv7(), { [A.id]: 1 }, { title: 'a\u0000b' }),
        A.m('create', 'note', uuidv7(), { [A.id]: 1 }, { body: 'lone \ud800 surrogate' }),
        A.m('create', 'note', uuidv7(), { [A.id]: 1 }, { tags: ['a', 'b\u0000'] }),
        A.m('create', 'ping', uuidv7(), { [A.id]: 1 }, { meta: { deep: [{ text: 'x\u0000' }] } }),
        A.m('create', 'ping', uuidv7(), { [A.id]: 1 }, { meta: { '\udc00key': 1 } }),
        A.m('create', 'note', uuidv7(), { [A.id]: 1, 'dev\u0000x': 1 }, { title: 'clock' }),
        A.m('update', 'note', id, { [A.id]: 2 }, { title: 'half \udbff' }, 1),
        A.m('create', 'note', ok2, { [A.id]: 1 }, { title: 'fine 2' }),
      )
      expect(res.results.map((r: Json) => r.status)).toEqual([
        'applied',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
        'applied',
      ])
      const refused = res.results.filter((r: Json) => r.status === 'rejected')
      expect(refused.map((r: Json) => r.error.code)).toEqual(Array(7).fill('validation_failed'))
      expect(refused.map((r: Json) => r.error.field)).toEqual(['title', 'body', 'tags', 'meta', 'meta', 'vclock', 'title'])
      expect(res.lastMid).toBe(A.mid)
      expect((await A.push()).lastMid).toBe(A.mid)
      const records = await Promise.all([ok1, ok2, id].map((x) => api.get(`/api/notes/${x}`)))
      expect(records.map((r) => r.json.title)).toEqual(['fine 1', 'fine 2', 'kept'])
    })

    it('treats a create of an existing id as an update', async () => {
      const { id } = await shared({ title: 'orig' })
      const res = await B.push(B.m('create', 'note', id, { [A.id]: 1, [B.id]: 1 }, { color: 'blue' }))
      expect(res.results[0]).toMatchObject({ status: 'applied', record: { title: 'orig', color: 'blue', version: 2 } })
    })

    it('refuses malformed pushes whole, before anything is applied', async () => {
      await devices()
      const id = uuidv7()
      const cases: Json[] = [
        { clientId: A.id, mutations: [{ mid: 1, model: 'note', op: 'create', id, vclock: {}, at: 'x', data: {} }] },
        {
          clientId: A.id,
          mutations: [{ mid: 'one', model: 'note', op: 'create', id, vclock: {}, at: new Date().toISOString(), data: {} }],
        },
        {
          clientId: A.id,
          mutations: [A.m('create', 'note', id, { [A.id]: 1 }, {}), { ...A.m('create', 'note', uuidv7(), { [A.id]: 2 }, {}), mid: 1 }],
        },
        { clientId: 'bad id!', mutations: [] },
        { clientId: A.id, mutations: 'nope' },
        { clientId: A.id, mutations: [{ ...A.m('update', 'note', id, { [A.id]: 1 }, { title: 'x' }), baseVersion: undefined }] },
        { clientId: A.id, mutations: [A.m('create', 'note', id, { [A.id]: -1 }, {})] },
      ]
      for (const body of cases) {
        const res = await api.post('/api/sync/push', body)
        expect(res.status, JSON.stringify(body)).toBe(400)
        expect(res.json.error.code).toBe('bad_request')
      }
      const poisoned = await api.post(
        '/api/sync/push',
        `{"clientId":"${A.id}","mutations":[{"mid":1,"model":"note","op":"create","id":"${id}","vclock":{"__proto__":{"x":1}},"at":"${new Date().toISOString()}","data":{}}]}`,
      )
      expect(poisoned.status).toBe(400)
      const big = await api.post('/api/sync/push', {
        clientId: A.id,
        mutations: Array.from({ length: 1001 }, (_, i) => A.m('create', 'note', uuidv7(), { [A.id]: i + 1 }, {})),
      })
      expect(big.status).toBe(413)
      expect((await api.get(`/api/notes/${id}`)).status).toBe(404)
    })

    describe('merge policies on a contested field', () => {
      /** A and B both edit `data` fields from version 1; A first. Returns B's result. */
      async function contest(initial: Json, fromA: Json, fromB: Json, ats: { a?: string; b?: string } = {}): Promise<Json> {
        const { id } = await shared(initial)
        const a = await A.push(A.m('update', 'note', id, { [A.id]: 2 }, fromA, 1, ats.a))
        expect(a.results[0].status).toBe('applied')
        const b = await B.push(B.m('update', 'note', id, { [A.id]: 1, [B.id]: 1 }, fromB, 1, ats.b))
        return b.results[0]
      }
      const t0 = Date.now()
      const at = (ms: number) => new Date(t0 + ms).toISOString()

      it('lww: the later at wins, either way round', async () => {
        expect((await contest({ title: 'base' }, { title: 'A' }, { title: 'B' }, { a: at(-2000), b: at(-1000) })).record.title).toBe('B')
        expect((await contest({ title: 'base' }, { title: 'A' }, { title: 'B' }, { a: at(-1000), b: at(-2000) })).record.title).toBe('A')
      })
      it('text: edits of different words both survive', async () => {
        const r = await contest({ body: 'the quick brown fox' }, { body: 'the slow brown fox' }, { body: 'the quick brown cat' })
        expect(r).toMatchObject({ status: 'merged', record: { body: 'the slow brown cat' } })
      })
      it('text: overlapping edits fall back to lww', async () => {
        const r = await contest({ body: 'one two' }, { body: 'one three' }, { body: 'one four' }, { a: at(-2000), b: at(-1000) })
        expect(r.record.body).toBe('one four')
      })
      it('max: the larger value wins', async () => {
        expect((await contest({ priority: 1 }, { priority: 5 }, { priority: 3 })).record.priority).toBe(5)
        expect((await contest({ priority: 1 }, { priority: 2 }, { priority: 4 })).record.priority).toBe(4)
      })
      it('min: the earlier date and the smaller decimal win', async () => {
        expect((await contest({ due: '2026-12-10' }, { due: '2026-12-20' }, { due: '2026-12-05' })).record.due).toBe('2026-12-05')
        expect((await contest({ price: '10.00' }, { price: '9.50' }, { price: '10.50' })).record.price).toBe('9.50')
      })
      it('union: additions from both sides kept, removals from either applied', async () => {
        const r = await contest({ tags: ['a', 'b', 'c'] }, { tags: ['a', 'b', 'x'] }, { tags: ['b', 'c', 'y'] })
        expect(r.record.tags).toEqual(['b', 'x', 'y'])
      })
      it('state: the value further along the order wins', async () => {
        expect((await contest({ status: 'todo' }, { status: 'done' }, { status: 'doing' })).record.status).toBe('done')
        expect((await contest({ status: 'todo' }, { status: 'doing' }, { status: 'done' })).record.status).toBe('done')
      })
      it('serverWins and clientWins', async () => {
        expect((await contest({ owner: 'o' }, { owner: 'server' }, { owner: 'client' })).record.owner).toBe('server')
        expect((await contest({ color: 'c' }, { color: 'server' }, { color: 'client' })).record.color).toBe('client')
      })
      it('custom: a server-side function (an additive counter)', async () => {
        expect((await contest({ score: 10 }, { score: 13 }, { score: 15 })).record.score).toBe(18)
      })
      it('manual: opens a conflict, keeps the server value, applies the other fields; a person resolves it', async () => {
        const r = await contest({ secret: 'base', title: 't' }, { secret: 'from A' }, { secret: 'from B', color: 'green' })
        expect(r.status).toBe('conflict')
        expect(r.record).toMatchObject({ secret: 'from A', color: 'green', version: 3 })
        expect(r.conflict).toMatchObject({
          model: 'note',
          fields: ['secret'],
          base: { secret: 'base' },
          local: { secret: 'from B' },
          remote: { secret: 'from A' },
          status: 'open',
          clientId: B.id,
        })
        const open = await api.get('/api/sync/conflicts?status=open')
        expect(open.json.items.map((c: Json) => c.id)).toContain(r.conflict.id)
        const resolved = await api.post(`/api/sync/conflicts/${r.conflict.id}/resolve`, { choice: 'local' })
        expect(resolved.status, JSON.stringify(resolved.json)).toBe(200)
        expect(resolved.json.record).toMatchObject({ secret: 'from B', version: 4 })
        expect(resolved.json.conflict).toMatchObject({ status: 'resolved', resolution: { choice: 'local' } })
        const history = await api.get(`/api/notes/${r.record.id}/history`)
        expect(history.json.items.at(-1)).toMatchObject({
          op: 'resolve',
          version: 4,
          changes: { secret: { old: 'from A', new: 'from B' } },
        })
        const twice = await api.post(`/api/sync/conflicts/${r.conflict.id}/resolve`, { choice: 'remote' })
        expect(twice.status).toBe(409)
        expect((await api.post(`/api/sync/conflicts/${uuidv7()}/resolve`, { choice: 'local' })).status).toBe(404)
        expect((await api.post(`/api/sync/conflicts/${r.conflict.id}/resolve`, { choice: 'mine' })).status).toBe(400)
      })
      it('manual: a retry whose answer was lost hears the same conflict again, open and then resolved, and applies nothing', async () => {
        const { id } = await shared({ secret: 'base' })
        await A.push(A.m('update', 'note', id, { [A.id]: 2 }, { secret: 'from A' }, 1))
        const edit = B.m('update', 'note', id, { [A.id]: 1, [B.id]: 1 }, { secret: 'from B', title: 'B' }, 1)
        const first = (await B.push(edit)).results[0]
        expect(first).toMatchObject({ status: 'conflict', conflict: { status: 'open' }, record: { version: 3 } })
        // The answer is lost (a restart, a dropped connection): the retry is told of the conflict,
        // not `duplicate`, so the edit is reported, never taken for one that simply landed.
        const again = (await B.push(edit)).results[0]
        expect(again).toMatchObject({ status: 'conflict', replayed: true, record: { version: 3, secret: 'from A', title: 'B' } })
        expect(first.replayed).toBeUndefined()
        expect(again.conflict).toEqual(first.conflict)
        expect((await api.get(`/api/notes/${id}`)).json.version).toBe(3)
        const open = await api.get('/api/sync/conflicts?status=open')
        expect(open.json.items.filter((c: Json) => c.recordId === id)).toHaveLength(1)
        // Resolved since: the retry hears the conflict as it is now, with the record as it is now.
        await api.post(`/api/sync/conflicts/${first.conflict.id}/resolve`, { choice: 'local' })
        const late = (await B.push(edit)).results[0]
        expect(late).toMatchObject({ status: 'conflict', record: { version: 4, secret: 'from B' } })
        expect(late.conflict).toMatchObject({ id: first.conflict.id, status: 'resolved', resolution: { choice: 'local' } })
        expect((await api.get(`/api/notes/${id}`)).json.version).toBe(4)
        // The same mid naming another record (another store of the device reusing it) is not
        // told of this conflict: a plain duplicate.
        const other = (await api.post('/api/notes', { title: 'other' })).json.id
        const reused = (await B.push({ ...edit, id: other })).results[0]
        expect(reused.status).toBe('duplicate')
        expect(reused.conflict).toBeUndefined()
      })
      it('manual: a custom resolution is validated', async () => {
        const r = await contest({ secret: 'base' }, { secret: 'A' }, { secret: 'B' })
        const bad = await api.post(`/api/sync/conflicts/${r.conflict.id}/resolve`, { choice: 'custom', data: { secret: 5 } })
        expect(bad.status).toBe(422)
        const good = await api.post(`/api/sync/conflicts/${r.conflict.id}/resolve`, { choice: 'custom', data: { secret: 'both' } })
        expect(good.json.record.secret).toBe('both')
      })
    })

    describe('deletes and tombstones', () => {
      it('deleteWins: an update against a tombstone is stale', async () => {
        const { id } = await shared({ title: 'x' })
        const del = await A.push(A.m('delete', 'note', id, { [A.id]: 2 }, undefined, 1))
        expect(del.results[0]).toMatchObject({ status: 'applied', record: { version: 2 } })
        expect(del.results[0].record.deletedAt).toEqual(expect.any(String))
        const upd = await B.push(B.m('update', 'note', id, { [A.id]: 1, [B.id]: 1 }, { title: 'late' }, 1))
        expect(upd.results[0]).toMatchObject({ status: 'stale', record: { title: 'x' } })
        expect(upd.results[0].record.deletedAt).not.toBeNull()
      })
      it('a delete concurrent with an update wins (merged)', async () => {
        const { id } = await shared({ title: 'x' })
        await A.push(A.m('update', 'note', id, { [A.id]: 2 }, { title: 'edited' }, 1))
        const del = await B.push(B.m('delete', 'note', id, { [A.id]: 1, [B.id]: 1 }, undefined, 1))
        expect(del.results[0].status).toBe('merged')
        expect(del.results[0].record.deletedAt).not.toBeNull()
      })
      it('updateRevives: an update brings a deleted memo back', async () => {
        await devices()
        const id = uuidv7()
        await A.push(A.m('create', 'memo', id, { [A.id]: 1 }, { text: 'hi' }))
        await A.push(A.m('delete', 'memo', id, { [A.id]: 2 }, undefined, 1))
        const res = await B.push(B.m('update', 'memo', id, { [A.id]: 1, [B.id]: 1 }, { text: 'still here' }, 1))
        expect(res.results[0].record).toMatchObject({ text: 'still here', deletedAt: null, version: 3 })
      })
    })

    describe('pull', () => {
      it('pages through changes after a cursor: latest state once, tombstones included, in order', async () => {
        await devices()
        const start = await api.get('/api/sync/pull?limit=5000')
        let cursor: string = start.json.cursor
        while (start.json.hasMore) throw new Error('test database too big')
        const ids = Array.from({ length: 7 }, () => uuidv7())
        await A.push(...ids.map((id, i) => A.m('create', 'ping', id, { [A.id]: 1 }, { n: i })))
        await A.push(A.m('update', 'ping', ids[0] as string, { [A.id]: 2 }, { n: 100 }, 1))
        await A.push(A.m('delete', 'ping', ids[1] as string, { [A.id]: 2 }, undefined, 1))
        const seen: Json[] = []
        for (;;) {
          const page = await api.get(`/api/sync/pull?cursor=${cursor}&limit=3`)
          expect(page.status).toBe(200)
          seen.push(...page.json.changes)
          cursor = page.json.cursor
          if (!page.json.hasMore) break
        }
        expect(seen.map((c) => c.record.id).sort()).toEqual([...ids].sort())
        const byId = new Map(seen.map((c) => [c.record.id, c.record]))
        expect(byId.get(ids[0])).toMatchObject({ n: 100, version: 2 })
        expect(byId.get(ids[1])?.deletedAt).not.toBeNull()
        // The last two changes (update, delete) come last, in commit order.
        expect(seen.slice(-2).map((c) => c.record.id)).toEqual([ids[0], ids[1]])
        const after = await api.get(`/api/sync/pull?cursor=${cursor}`)
        expect(after.json).toMatchObject({ changes: [], cursor, hasMore: false })
      })
      it('narrows to the named models (selective sync)', async () => {
        await devices()
        const before = (await api.get('/api/sync/pull?limit=5000')).json.cursor
        await A.push(
          A.m('create', 'memo', uuidv7(), { [A.id]: 1 }, { text: 'm' }),
          A.m('create', 'ping', uuidv7(), { [A.id]: 1 }, { n: 1 }),
        )
        const memos = await api.get(`/api/sync/pull?cursor=${before}&models=memo`)
        expect(memos.json.changes.map((c: Json) => c.model)).toEqual(['memo'])
        expect((await api.get('/api/sync/pull?models=widget')).status).toBe(404)
      })
      it('refuses forged cursors and bad limits', async () => {
        for (const q of ['cursor=42', 'cursor=c1.', 'cursor=c1.zzzzzzzzzzzzzzz', 'limit=0', 'limit=5001', 'limit=abc']) {
          const res = await api.get(`/api/sync/pull?${q}`)
          expect(res.status, q).toBe(400)
          expect(res.json.error.code).toBe('bad_request')
        }
      })
      it('refuses a cursor past the head of the change order, without echoing it', async () => {
        const head = (await api.get('/api/sync/pull?limit=5000')).json.cursor as string
        const [prefix, position, ...epoch] = head.split('.')
        const ahead = [prefix, (Number.parseInt(position as string, 36) + 1000).toString(36), ...epoch].join('.')
        const res = await api.get(`/api/sync/pull?cursor=${ahead}`)
        // 410, not 400: a client holding it (its server restored from a backup) must start afresh.
        expect(res.status).toBe(410)
        expect(res.json.error.code).toBe('cursor_expired')
        expect(res.text).not.toContain(ahead)
        expect((await api.get(`/api/sync/pull?cursor=${head}`)).json).toMatchObject({ changes: [], cursor: head, hasMore: false })
      })
      it('answers 410 cursor_expired once deletions past the cursor were purged', async () => {
        await devices()
        const id = uuidv7()
        await A.push(A.m('create', 'ping', id, { [A.id]: 1 }, { n: 1 }))
        const old = (await api.get('/api/sync/pull?limit=5000')).json.cursor
        await A.push(A.m('delete', 'ping', id, { [A.id]: 2 }, undefined, 1))
        const fresh = (await api.get('/api/sync/pull?limit=5000')).json.cursor
        expect(await server.engine.purgeTombstones(0)).toBeGreaterThanOrEqual(1)
        const expired = await api.get(`/api/sync/pull?cursor=${old}`)
        expect(expired.status).toBe(410)
        expect(expired.json.error.code).toBe('cursor_expired')
        expect((await api.get(`/api/sync/pull?cursor=${fresh}`)).status).toBe(200)
        const snapshot = await api.get('/api/sync/pull?limit=5000')
        expect(snapshot.json.changes.map((c: Json) => c.record.id)).not.toContain(id)
      })
    })
  })
}
