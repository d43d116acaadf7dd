/**
 * Sync attacked from the other side of a tenant boundary (issue 8: conflicts, forged clocks,
 * service clientIds; issue 16: `id_taken`), once per database. Two organizations, a user in
 * each and one in both, organization API tokens (two for B: a rotation) and an admin token;
 * pushes over HTTP and WebSocket. Every answer across the
 * boundary is the one a missing thing gets, nothing of the other tenant shows, no call is a 500.
 */
import { defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import { createAuthenticator, type RunningServer, type SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeOrg, type SignedIn, signIn } from './accounts.ts'
import { httpClient, startTestServer } from './server.ts'
import { connectWs, helloAndCatchUp } from './ws-client.ts'

type Json = Record<string, any>
type Api = ReturnType<typeof httpClient>

/** An organization's card: `secret` is settled by a person (manual), so concurrent edits open conflicts. */
const card = defineModel('card', {
  fields: { title: f.string({ default: '' }), secret: f.string({ nullable: true, merge: 'manual' }), orgId: f.org() },
})

const MAX = Number.MAX_SAFE_INTEGER
const rand = () => Math.random().toString(36).slice(2, 10)

/** An answer with the given ids and the request id blanked, to compare two answers. */
function shape(res: { status: number; json: Json }, ...ids: string[]): string {
  let text = JSON.stringify({ status: res.status, body: { ...res.json, requestId: undefined } })
  for (const id of ids) text = text.replaceAll(id, '<id>')
  return text
}

/** A pusher: a clientId with its own mids, over an HTTP client. */
class Pusher {
  mid = 0
  constructor(
    readonly api: Api,
    readonly clientId: string,
  ) {}
  m(op: 'create' | 'update' | 'delete', id: string, vclock: Json, data?: Json, baseVersion?: number): Json {
    this.mid += 1
    return {
      mid: this.mid,
      model: 'card',
      op,
      id,
      vclock,
      at: new Date().toISOString(),
      ...(data ? { data } : {}),
      ...(baseVersion !== undefined ? { baseVersion } : {}),
    }
  }
  push(...mutations: Json[]): Promise<{ status: number; json: Json; text: string }> {
    return this.api.post('/api/sync/push', { clientId: this.clientId, mutations })
  }
  /** Pushes one mutation and returns its result (the push itself must answer 200). */
  async one(mutation: Json): Promise<Json> {
    const res = await this.push(mutation)
    expect(res.status, res.text).toBe(200)
    return res.json.results[0]
  }
}

export function runAdversarySyncSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`sync across tenants, from the attacker's side, on ${name}`, () => {
    let server: RunningServer
    let alice: SignedIn // org A
    let bob: SignedIn // org B
    let carol: SignedIn // both, until bob removes her
    let orgA: string
    let orgB: string
    const tokens: Record<'a' | 'b' | 'b2' | 'admin', Api> = {} as never

    beforeAll(async () => {
      server = await startTestServer(defineSchema([card]), await makeStorage(), { auth: true })
      alice = await signIn(server.url, 'alice')
      bob = await signIn(server.url, 'bob')
      carol = await signIn(server.url, 'carol')
      orgA = await makeOrg(alice, 'A', [carol])
      orgB = await makeOrg(bob, 'B', [carol])
      const accounts = server.accounts
      if (!accounts) throw new Error('auth is on')
      const make = async (input: { name: string; orgId?: string; admin?: boolean }) =>
        httpClient(server.url, { 'x-auth-token': (await accounts.createApiToken(input)).token })
      tokens.a = await make({ name: 'svc A', orgId: orgA })
      tokens.b = await make({ name: 'svc B', orgId: orgB })
      tokens.b2 = await make({ name: 'svc B, rotated', orgId: orgB })
      tokens.admin = await make({ name: 'ops', admin: true })
    })
    afterAll(async () => {
      await server?.close()
    })

    // One pusher per device for the whole run: its mids go on from test to test.
    const devices = new Map<string, Pusher>()
    const device = (who: SignedIn): Pusher => {
      let pusher = devices.get(who.deviceId)
      if (!pusher) {
        pusher = new Pusher(who.api, who.deviceId)
        devices.set(who.deviceId, pusher)
      }
      return pusher
    }

    it('service clientIds belong to the organization that first pushed as them: others get 403 and never see lastMid', async () => {
      const id = `ingest-${rand()}`
      const b = new Pusher(tokens.b, id)
      expect(await b.one(b.m('create', uuidv7(), { [id]: 1 }, { title: 'B ingests' }))).toMatchObject({ status: 'applied' })
      // Org A's token tries to take the clientId over with the last mid there is, then to read its lastMid.
      const a = new Pusher(tokens.a, id)
      a.mid = MAX - 1
      const hijack = await a.push(a.m('create', uuidv7(), { [id]: 1 }, { title: 'A was here' }))
      expect(hijack.status).toBe(403)
      expect(hijack.json.error.code).toBe('forbidden')
      const peek = await tokens.a.post('/api/sync/push', { clientId: id, mutations: [] })
      expect(peek.status).toBe(403)
      expect(peek.text).not.toContain('lastMid')
      // B's pushes go on: none taken for a duplicate; a rotated token of org B shares the clientId.
      const next = await b.push(b.m('create', uuidv7(), { [id]: 1 }, { title: 'B again' }))
      expect(next.json).toMatchObject({ lastMid: 2, results: [{ status: 'applied' }] })
      const rotated = new Pusher(tokens.b2, id)
      rotated.mid = 2
      expect(await rotated.one(rotated.m('create', uuidv7(), { [id]: 1 }, { title: 'B, new token' }))).toMatchObject({ status: 'applied' })
      // Admin tokens take no one else's clientId, nor a device's.
      expect((await tokens.admin.post('/api/sync/push', { clientId: id, mutations: [] })).status).toBe(403)
      expect((await tokens.admin.post('/api/sync/push', { clientId: alice.deviceId, mutations: [] })).status).toBe(403)
      expect((await tokens.admin.post('/api/sync/push', { clientId: `admin-${rand()}`, mutations: [] })).status).toBe(200)
      for (const api of [tokens.a, tokens.admin, alice.api]) {
        expect((await api.post('/api/sync/push', { clientId: 'server', mutations: [] })).status).toBe(403)
      }
      // Over WebSocket: the push is refused the same way, and B's queue is untouched.
      const ws = await connectWs(server.url)
      await helloAndCatchUp(ws, { clientId: id, token: (await server.accounts?.createApiToken({ name: 'svc A ws', orgId: orgA }))?.token })
      ws.send({ type: 'push', mutations: [{ ...a.m('create', uuidv7(), { [id]: 1 }, { title: 'A over ws' }), mid: MAX }] })
      expect(await ws.nextOf('error')).toMatchObject({ code: 'forbidden' })
      ws.close()
      b.mid = 3
      expect((await b.push(b.m('create', uuidv7(), { [id]: 1 }, { title: 'B still' }))).json.lastMid).toBe(4)
    })

    it('a forged clock is rejected (clock_ahead) and never stored: later writes by anyone succeed', async () => {
      const a = device(alice)
      const c = device(carol)
      const id = uuidv7()
      expect(await a.one(a.m('create', id, { [a.clientId]: 1 }, { title: 'target', orgId: orgA }))).toMatchObject({ status: 'applied' })
      // Another device's entry and the server's, at the end of the safe range.
      const forged = await a.one(a.m('update', id, { [a.clientId]: 2, [c.clientId]: MAX, server: MAX }, { title: 'locked?' }, 1))
      expect(forged).toMatchObject({ status: 'rejected', error: { code: 'clock_ahead' } })
      expect(forged.record).toBeUndefined()
      // Its own entry at the end of the range: only "this edit is new"; the server counts one change.
      const own = await a.one(a.m('update', id, { [a.clientId]: MAX }, { title: 'own entry forged' }, 1))
      expect(own).toMatchObject({ status: 'applied', record: { version: 2, vclock: { [a.clientId]: 2 } } })
      // A create naming someone else's changes, over WebSocket.
      const ws = await connectWs(server.url)
      await helloAndCatchUp(ws, { clientId: alice.deviceId, token: alice.access })
      const fresh = uuidv7()
      ws.send({ type: 'push', mutations: [a.m('create', fresh, { [a.clientId]: 1, [c.clientId]: 3 }, { title: 'x', orgId: orgA })] })
      const answer = await ws.nextOf('pushResult')
      expect(answer.results[0]).toMatchObject({ status: 'rejected', error: { code: 'clock_ahead' } })
      ws.close()
      expect((await alice.api.get(`/api/cards/${fresh}`)).status).toBe(404)
      // Everyone else's writes go on: REST, another device's push, a delete.
      const patched = await carol.api.patch(`/api/cards/${id}`, { title: 'carol over REST' })
      expect(patched.status, patched.text).toBe(200)
      expect(patched.json.vclock).toEqual({ [a.clientId]: 2, server: 1 })
      const pushed = await c.one(c.m('update', id, { ...patched.json.vclock, [c.clientId]: 1 }, { title: 'carol pushed' }, 3))
      expect(pushed).toMatchObject({ status: 'applied', record: { title: 'carol pushed', version: 4 } })
      expect((await carol.api.delete(`/api/cards/${id}`)).status).toBe(204)
    })

    it('conflicts are listed and settled only by those who may read the record now', async () => {
      /** Opens a conflict on a new card of `orgId`: `maker` creates it, a REST edit, then `pusher`'s concurrent edit. */
      async function conflictOn(orgId: string, maker: Pusher, rest: Api, pusher: Pusher): Promise<Json> {
        const id = uuidv7()
        expect(await maker.one(maker.m('create', id, { [maker.clientId]: 1 }, { secret: 'base', orgId }))).toMatchObject({
          status: 'applied',
        })
        expect((await rest.patch(`/api/cards/${id}`, { secret: 'by REST' })).status).toBe(200)
        const opened = await pusher.one(
          pusher.m('update', id, { [maker.clientId]: 1, [pusher.clientId]: 1 }, { secret: `by ${pusher.clientId}` }, 1),
        )
        expect(opened.status).toBe('conflict')
        return opened.conflict
      }
      const svcA = new Pusher(tokens.a, `svc-a-${rand()}`)
      const svcB = new Pusher(tokens.b, `svc-b-${rand()}`)
      const ofA = await conflictOn(orgA, device(alice), alice.api, svcA)
      const ofB = await conflictOn(orgB, device(bob), bob.api, svcB)
      const byCarol = await conflictOn(orgB, device(bob), bob.api, device(carol))
      const listed = async (api: Api, query = '') => {
        const res = await api.get(`/api/sync/conflicts?status=open${query}`)
        expect(res.status, res.text).toBe(200)
        return (res.json.items as Json[]).map((c) => c.id)
      }
      // Org A's token sees its organization's conflicts only, though both were opened by services.
      expect(await listed(tokens.a)).toEqual([ofA.id])
      expect(JSON.stringify((await tokens.a.get('/api/sync/conflicts')).json)).not.toContain(orgB)
      // Members see the conflicts of their organization's records, whoever opened them; mine narrows.
      expect(await listed(bob.api)).toEqual([byCarol.id, ofB.id])
      expect(await listed(bob.api, '&mine=true')).toEqual([])
      expect(await listed(carol.api, '&mine=true')).toEqual([byCarol.id])
      expect(await listed(alice.api)).toEqual([ofA.id])
      // Pages: one at a time, every conflict once; a forged cursor is refused.
      const first = await carol.api.get('/api/sync/conflicts?status=open&limit=1')
      expect(first.json.items).toHaveLength(1)
      const second = await carol.api.get(`/api/sync/conflicts?status=open&limit=1&cursor=${first.json.nextCursor}`)
      const third = await carol.api.get(`/api/sync/conflicts?status=open&limit=1&cursor=${second.json.nextCursor}`)
      expect([first, second, third].flatMap((r) => r.json.items.map((c: Json) => c.id))).toEqual([byCarol.id, ofB.id, ofA.id])
      expect(third.json.nextCursor).toBeNull()
      for (const bad of ['x', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"createdAt":{}}').toString('base64url')]) {
        expect((await carol.api.get(`/api/sync/conflicts?cursor=${bad}`)).status, bad).toBe(400)
      }
      expect((await carol.api.get('/api/sync/conflicts?limit=501')).status).toBe(400)
      // Across the boundary a conflict is answered like one that does not exist.
      const missing = uuidv7()
      const absent = await tokens.a.post(`/api/sync/conflicts/${missing}/resolve`, { choice: 'local' })
      const across = await tokens.a.post(`/api/sync/conflicts/${ofB.id}/resolve`, { choice: 'local' })
      expect(across.status).toBe(404)
      expect(shape(across, ofB.id)).toBe(shape(absent, missing))
      // A member removed from B sees none of B's conflicts, not even the one her push opened.
      expect((await bob.api.delete(`/api/orgs/${orgB}/members/${carol.userId}`)).status).toBe(204)
      expect(await listed(carol.api)).toEqual([ofA.id])
      const after = await carol.api.post(`/api/sync/conflicts/${byCarol.id}/resolve`, { choice: 'local' })
      expect(shape(after, byCarol.id)).toBe(
        shape(await carol.api.post(`/api/sync/conflicts/${missing}/resolve`, { choice: 'local' }), missing),
      )
      // Bob settles the one carol's push opened: he may write the record.
      const settled = await bob.api.post(`/api/sync/conflicts/${byCarol.id}/resolve`, { choice: 'remote' })
      expect(settled.status, settled.text).toBe(200)
      expect(await listed(bob.api)).toEqual([ofB.id])
    })

    it('a create with an id taken in another tenant says only that it is taken, live or deleted, whatever its clock', async () => {
      const b = device(bob)
      const [live, gone, free] = [uuidv7(), uuidv7(), uuidv7()]
      await b.push(
        b.m('create', live, { [b.clientId]: 1 }, { title: 'B live', orgId: orgB }),
        b.m('create', gone, { [b.clientId]: 1 }, { title: 'B deleted', orgId: orgB }),
      )
      expect((await bob.api.delete(`/api/cards/${gone}`)).status).toBe(204)
      const a = device(alice)
      const res = await a.push(
        a.m('create', live, { [a.clientId]: 1 }, { title: 'mine?' }),
        a.m('create', gone, { [a.clientId]: 1 }, { title: 'mine?' }),
        a.m('create', live, { [a.clientId]: 1, [b.clientId]: 99, server: 99 }, { title: 'mine?' }),
        a.m('create', free, { [a.clientId]: 1 }, { title: 'mine' }),
      )
      expect(res.status).toBe(200)
      const [first, second, forged, fine] = res.json.results
      expect(fine).toMatchObject({ status: 'applied' })
      for (const [r, id] of [
        [first, live],
        [second, gone],
        [forged, live],
      ] as const) {
        expect(r.record).toBeUndefined()
        expect(JSON.stringify({ ...r, mid: 0 }).replaceAll(id, '<id>')).toBe(JSON.stringify({ ...first, mid: 0 }).replaceAll(live, '<id>'))
      }
      expect(first.error.code).toBe('id_taken')
      const restLive = await alice.api.post('/api/cards', { id: live, title: 'mine?' })
      const restGone = await alice.api.post('/api/cards', { id: gone, title: 'mine?' })
      expect(restLive.status).toBe(409)
      expect(shape(restLive, live)).toBe(shape(restGone, gone))
      expect(JSON.stringify([first, second, forged, restLive.json, restGone.json])).not.toMatch(/B live|B deleted|version|vclock|orgId/)
    })

    it('a write authenticated before its user left an organization is judged by the memberships at its commit', async () => {
      // Every request reads its user's memberships when it authenticates; a removal can commit
      // between that read and the write's transaction. Here the gap is made wide: the actors are
      // read, then dave is removed, then their writes run.
      const dave = await signIn(server.url, `dave-${rand()}`)
      const orgD = await makeOrg(bob, `D ${rand()}`, [dave])
      const made = await bob.api.post('/api/cards', { title: 'D card', orgId: orgD })
      expect(made.status).toBe(201)
      const { engine, accounts } = server
      const authenticator = createAuthenticator(accounts as NonNullable<typeof accounts>)
      const stale = (await authenticator.fromToken(dave.access)).actor
      expect(stale.orgIds).toContain(orgD)
      expect((await bob.api.delete(`/api/orgs/${orgD}/members/${dave.userId}`)).status).toBe(204)
      const ctx = { actor: stale, requestId: null }
      // REST: the card answers as a missing one; a create in the organization is forbidden.
      await expect(
        engine.writeOne(ctx, { op: 'update', model: 'card', id: made.json.id, data: { title: 'still mine?' } }),
      ).rejects.toMatchObject({
        code: 'not_found',
      })
      await expect(engine.writeOne(ctx, { op: 'create', model: 'card', data: { title: 'slipped in', orgId: orgD } })).rejects.toMatchObject(
        {
          code: 'forbidden',
        },
      )
      // Sync: the push is answered, its mutation refused as out of scope.
      const pushed = await engine.push(ctx, {
        clientId: dave.deviceId,
        mutations: [
          {
            mid: 1,
            model: 'card',
            op: 'update',
            id: made.json.id,
            vclock: { [dave.deviceId]: 1 },
            at: new Date().toISOString(),
            data: { title: 'pushed late' },
            baseVersion: 1,
          },
        ],
      })
      expect(pushed.results[0]).toMatchObject({ status: 'rejected', error: { code: 'not_found' } })
      const card = await bob.api.get(`/api/cards/${made.json.id}`)
      expect(card.json).toMatchObject({ title: 'D card', version: 1 })
      // An actor whose account the write transaction cannot find writes nothing.
      const ghost = { actor: { ...stale, userId: '01a22b00-0000-7000-8000-00000000dead' }, requestId: null }
      await expect(engine.writeOne(ghost, { op: 'create', model: 'card', data: { title: 'ghost', orgId: orgD } })).rejects.toMatchObject({
        code: 'unauthenticated',
      })
    })

    it("a write's transaction holds its user's memberships: a removal waits for its commit", async () => {
      const erin = await signIn(server.url, `erin-${rand()}`)
      const orgE = await makeOrg(bob, `E ${rand()}`, [erin])
      let release = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      let holding = () => {}
      const held = new Promise<void>((resolve) => {
        holding = resolve
      })
      // What a write does first (`actorNow`): lock the user's row, then decide and persist.
      const write = server.storage.transaction(async (tx) => {
        const locked = await tx.lockUsers([erin.userId])
        holding()
        await gate
        return locked.get(erin.userId)
      })
      await held
      let removed = false
      const removal = bob.api.delete(`/api/orgs/${orgE}/members/${erin.userId}`).then((res) => {
        removed = true
        return res
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(removed, 'the removal waited for the write holding her row').toBe(false)
      release()
      const seen = await write
      expect((await removal).status).toBe(204)
      // The write saw the memberships before the removal; the next one sees them after.
      const after = await server.storage.transaction((tx) => tx.lockUsers([erin.userId]))
      expect(after.get(erin.userId)?.scopeEpoch).toBe((seen?.scopeEpoch ?? 0) + 1)
    })
  })
}
