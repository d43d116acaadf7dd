/**
 * Paths the other adversary files did not attack across a boundary (issue 8), on SQLite and
 * PostgreSQL: sockets given another user's cursor or one from before a membership change;
 * invitation ids of another organization; a device removed or a refresh token replayed while its
 * socket is open; every path of a member who left, replayed pushes included; a device pushing as
 * its user's other device; a socket given a cursor past the head of the change order. Each answer across the boundary is the one an absent thing gets.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { uuidv7 } from '@pulse/core'
import { createPostgresStorage, createSqliteStorage, type RunningServer, type SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join as joinOrg, makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { adversarySchema } from './support/adversary/data.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { connectWs, helloAndCatchUp, type WsClient } from './support/ws-client.ts'

const pg = await pgAvailable()
type Json = Record<string, any>
type Answer = { status: number; json: Json }

/** An answer with the given ids and the request id blanked, to compare two answers. */
function shape(res: Answer | Json, ...ids: string[]): string {
  let text = JSON.stringify('json' in res ? { status: res.status, body: { ...res.json, requestId: undefined } } : res)
  for (const id of ids) text = text.replaceAll(id, '<id>')
  return text.replace(/"mid":\d+/g, '"mid":0')
}

const at = () => new Date().toISOString()

function runGaps(label: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`gaps across tenant boundaries on ${label}`, () => {
    let server: RunningServer
    let n = 0
    const fresh = (prefix: string) => {
      n += 1
      return signIn(server.url, `${prefix}${n}`)
    }
    const socket = async (who: SignedIn, cursor: string | null = null): Promise<{ ws: WsClient; pages: Json[] }> => {
      const ws = await connectWs(server.url)
      const { pages } = await helloAndCatchUp(ws, { clientId: who.deviceId, token: who.access, cursor })
      return { ws, pages }
    }

    beforeAll(async () => {
      server = await startTestServer(adversarySchema, await makeStorage(), { auth: true, realtime: { recheckIntervalMs: 60_000 } })
    })
    afterAll(async () => {
      await server?.close()
    })

    it('a socket given another user\u2019s cursor sees only its own scope; one from before a membership change answers scope_changed', async () => {
      const alice = await fresh('alice')
      const bob = await fresh('bob')
      await makeOrg(alice, 'A')
      await makeOrg(bob, 'B')
      const before = (await bob.api.get('/api/sync/pull')).json.cursor as string
      expect((await bob.api.post('/api/tasks', { title: 'B only' })).status).toBe(201)
      expect((await alice.api.post('/api/tasks', { title: 'A sees this' })).status).toBe(201)
      // Both made one organization: their cursors carry the same epoch, so bob's is accepted as a position.
      const { ws, pages } = await socket(alice, before)
      expect(JSON.stringify(pages)).toContain('A sees this')
      expect(JSON.stringify(pages)).not.toContain('B only')
      ws.send({ type: 'pull', cursor: before })
      const pulled = await ws.nextOf('changes')
      expect(JSON.stringify(pulled)).toContain('A sees this')
      expect(JSON.stringify(pulled)).not.toContain('B only')
      ws.close()
      // Carol, in both, takes a cursor, then leaves B: over the socket too, it answers scope_changed.
      const carol = await fresh('carol')
      const orgB = (await bob.api.get('/api/orgs')).json.items[0].id as string
      await joinOrg(bob, carol, orgB)
      const carolCursor = (await carol.api.get('/api/sync/pull')).json.cursor as string
      expect(JSON.stringify((await carol.api.get('/api/sync/pull')).json)).toContain('B only')
      expect((await carol.api.delete(`/api/orgs/${orgB}/members/${carol.userId}`)).status).toBe(204)
      const stale = await connectWs(server.url)
      stale.send({ type: 'hello', clientId: carol.deviceId, token: carol.access, cursor: carolCursor })
      await stale.nextOf('welcome')
      expect(await stale.nextOf('error')).toMatchObject({ code: 'scope_changed' })
      stale.send({ type: 'pull', cursor: carolCursor })
      expect(await stale.nextOf('error')).toMatchObject({ code: 'scope_changed' })
      expect(JSON.stringify(stale.messages)).not.toContain('B only')
      stale.close()
    })

    it('invitation ids of another organization: cancelling, listing, accepting and declining answer like absent ones', async () => {
      const ownerA = await fresh('ownera')
      const ownerB = await fresh('ownerb')
      const invitee = await fresh('invitee')
      const outsider = await fresh('outsider')
      const orgA = await makeOrg(ownerA, 'A')
      const orgB = await makeOrg(ownerB, 'B')
      const invA = (await ownerA.api.post(`/api/orgs/${orgA}/invitations`, { username: outsider.username })).json.id as string
      const invB = (await ownerB.api.post(`/api/orgs/${orgB}/invitations`, { username: invitee.username })).json.id as string
      const ghost = uuidv7()
      // A's owner names B's invitation under A, or B itself.
      const cancelAcross = await ownerA.api.delete(`/api/orgs/${orgA}/invitations/${invB}`)
      expect(cancelAcross.status).toBe(404)
      expect(shape(cancelAcross, invB)).toBe(shape(await ownerA.api.delete(`/api/orgs/${orgA}/invitations/${ghost}`), ghost))
      const underB = await ownerA.api.delete(`/api/orgs/${orgB}/invitations/${invB}`)
      expect(shape(underB, orgB, invB)).toBe(shape(await ownerA.api.delete(`/api/orgs/${ghost}/invitations/${invB}`), ghost, invB))
      const listB = await ownerA.api.get(`/api/orgs/${orgB}/invitations`)
      expect(listB.status).toBe(404)
      expect(shape(listB, orgB)).toBe(shape(await ownerA.api.get(`/api/orgs/${ghost}/invitations`), ghost))
      // Someone else's invitation cannot be accepted or declined, and stays pending.
      for (const action of ['accept', 'decline']) {
        const across = await invitee.api.post(`/api/invitations/${invA}/${action}`)
        expect(across.status).toBe(404)
        expect(shape(across, invA)).toBe(shape(await invitee.api.post(`/api/invitations/${ghost}/${action}`), ghost))
      }
      expect((await ownerB.api.get(`/api/orgs/${orgB}/invitations`)).json.items.map((i: Json) => i.id)).toEqual([invB])
      expect((await ownerA.api.get(`/api/orgs/${orgA}/invitations`)).json.items.map((i: Json) => i.id)).toEqual([invA])
      expect((await outsider.api.get('/api/invitations')).json.items.map((i: Json) => i.id)).toEqual([invA])
      expect((await invitee.api.get('/api/invitations')).json.items.map((i: Json) => i.id)).toEqual([invB])
    })

    it('removing a device, or replaying its rotated refresh token, closes its open socket at once; other devices keep theirs', async () => {
      const user = await fresh('mobile')
      const org = await makeOrg(user, 'M')
      const phone = await signIn(server.url, user.username, 'phone')
      const tablet = await signIn(server.url, user.username, 'tablet')
      const onPhone = await socket(phone)
      const onTablet = await socket(tablet)
      const onLaptop = await socket(user)
      expect((await user.api.delete(`/api/devices/${phone.deviceId}`)).status).toBe(204)
      expect(await onPhone.ws.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
      expect((await onPhone.ws.closed).code).toBe(4401)
      // The tablet's refresh token is rotated by a thief; the tablet replays its copy.
      const anonymous = httpClient(server.url)
      expect((await anonymous.post('/api/auth/refresh', { refresh: tablet.refresh })).status).toBe(200)
      expect((await anonymous.post('/api/auth/refresh', { refresh: tablet.refresh })).status).toBe(401)
      expect(await onTablet.ws.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
      expect((await onTablet.ws.closed).code).toBe(4401)
      // The laptop syncs on; the closed sockets heard nothing of what followed.
      expect((await user.api.post('/api/tasks', { title: 'after the phone was lost', orgId: org })).status).toBe(201)
      await onLaptop.ws.next((m) => m.type === 'changes' && JSON.stringify(m).includes('after the phone was lost'))
      for (const closed of [onPhone, onTablet]) expect(JSON.stringify(closed.ws.messages)).not.toContain('after the phone was lost')
      onLaptop.ws.close()
    })

    it('a member who left gets, on every path, what a stranger gets: reads, writes, history, conflicts, replayed pushes', async () => {
      const owner = await fresh('keeper')
      const leaver = await fresh('leaver')
      const org = await makeOrg(owner, 'K', [leaver])
      await makeOrg(leaver, 'Elsewhere') // the leaver keeps an organization of its own
      const taskId = uuidv7()
      const cardId = uuidv7()
      const mutations = [
        {
          mid: 1,
          model: 'task',
          op: 'create',
          id: taskId,
          vclock: { [leaver.deviceId]: 1 },
          data: { title: 'secret plan', orgId: org },
          at: at(),
        },
        {
          mid: 2,
          model: 'card',
          op: 'create',
          id: cardId,
          vclock: { [leaver.deviceId]: 1 },
          data: { secret: 'base', orgId: org },
          at: at(),
        },
      ]
      const pushed = await leaver.api.post('/api/sync/push', { clientId: leaver.deviceId, mutations })
      expect(pushed.json.results.map((r: Json) => r.status)).toEqual(['applied', 'applied'])
      expect((await owner.api.patch(`/api/cards/${cardId}`, { secret: 'by the owner' })).status).toBe(200)
      const edit = {
        mid: 3,
        model: 'card',
        op: 'update',
        id: cardId,
        baseVersion: 1,
        vclock: { [leaver.deviceId]: 2 },
        data: { secret: 'mine' },
        at: at(),
      }
      const opened = await leaver.api.post('/api/sync/push', { clientId: leaver.deviceId, mutations: [edit] })
      expect(opened.json.results[0].status).toBe('conflict')
      const conflictId = opened.json.results[0].conflict.id as string
      expect((await leaver.api.delete(`/api/orgs/${org}/members/${leaver.userId}`)).status).toBe(204)

      const ghost = uuidv7()
      const paths: [string, (id: string) => Promise<Answer>][] = [
        ['get', (id) => leaver.api.get(`/api/tasks/${id}`)],
        ['patch', (id) => leaver.api.patch(`/api/tasks/${id}`, { title: 'edited after leaving' })],
        ['delete', (id) => leaver.api.delete(`/api/tasks/${id}`)],
        ['history', (id) => leaver.api.get(`/api/tasks/${id}/history`)],
        ['create with its id', (id) => leaver.api.post('/api/tasks', { id, title: 'mine again?' })],
      ]
      const idTaken = await leaver.api.post('/api/tasks', { id: taskId, title: 'mine again?' })
      for (const [what, call] of paths.slice(0, 4)) expect(shape(await call(taskId), taskId), what).toBe(shape(await call(ghost), ghost))
      // §8's one exception: a create with a taken id says only that it is taken.
      expect(idTaken.status).toBe(409)
      expect(shape(idTaken, taskId)).toBe(
        shape({ status: 409, json: { error: { code: 'id_taken', message: `the id ${taskId} is taken` } } }, taskId),
      )
      // Conflicts: not listed, not settled, like one that does not exist.
      expect((await leaver.api.get('/api/sync/conflicts')).json.items).toEqual([])
      const settle = await leaver.api.post(`/api/sync/conflicts/${conflictId}/resolve`, { choice: 'local' })
      expect(shape(settle, conflictId)).toBe(
        shape(await leaver.api.post(`/api/sync/conflicts/${ghost}/resolve`, { choice: 'local' }), ghost),
      )
      // Pushes: an update answers like one of a record that does not exist; a replay is a
      // duplicate that shows nothing of the records it once wrote.
      const upd = (mid: number, id: string) => ({
        mid,
        model: 'task',
        op: 'update',
        id,
        baseVersion: 1,
        vclock: { [leaver.deviceId]: 9 },
        data: { title: 'x' },
        at: at(),
      })
      const after = await leaver.api.post('/api/sync/push', { clientId: leaver.deviceId, mutations: [upd(4, taskId), upd(5, ghost)] })
      const [across, absent] = after.json.results
      expect(shape(across, taskId)).toBe(shape(absent, ghost))
      const replay = await leaver.api.post('/api/sync/push', { clientId: leaver.deviceId, mutations: [...mutations, edit] })
      expect(replay.json.results.map((r: Json) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate'])
      expect(JSON.stringify(replay.json)).not.toMatch(/secret plan|by the owner|"record"/)
      // Lists naming the organization answer like an organization that does not exist.
      const listed = await leaver.api.get(`/api/tasks?orgId=${org}`)
      expect(shape(listed, org)).toBe(shape(await leaver.api.get(`/api/tasks?orgId=${ghost}`), ghost))
      // The owner's view is untouched.
      expect((await owner.api.get(`/api/tasks/${taskId}`)).json).toMatchObject({ title: 'secret plan', version: 1 })
      expect((await owner.api.get('/api/sync/conflicts')).json.items.map((c: Json) => c.id)).toEqual([conflictId])
    })

    it('a socket hello or pull with a cursor past the head of the change order is refused, not echoed', async () => {
      const user = await fresh('forger')
      await makeOrg(user, 'F')
      expect((await user.api.post('/api/tasks', { title: 'one' })).status).toBe(201)
      const head = (await user.api.get('/api/sync/pull')).json.cursor as string
      const [prefix, position, ...epoch] = head.split('.')
      const ahead = [prefix, (Number.parseInt(position as string, 36) + 1000).toString(36), ...epoch].join('.')
      const ws = await connectWs(server.url)
      ws.send({ type: 'hello', token: user.access, clientId: user.deviceId, cursor: ahead })
      await ws.nextOf('welcome')
      expect(await ws.nextOf('error')).toMatchObject({ code: 'cursor_expired' })
      ws.send({ type: 'pull', cursor: ahead })
      expect(await ws.nextOf('error')).toMatchObject({ code: 'cursor_expired' })
      ws.send({ type: 'pull', cursor: head })
      expect(await ws.nextOf('changes')).toMatchObject({ changes: [], cursor: head, hasMore: false })
      expect(JSON.stringify(ws.messages)).not.toContain(ahead)
      ws.close()
    })

    it('a device cannot push as another device of its own user, over HTTP or WebSocket', async () => {
      const user = await fresh('twodevices')
      const other = await signIn(server.url, user.username, 'second')
      const http = await user.api.post('/api/sync/push', { clientId: other.deviceId, mutations: [] })
      expect(http.status).toBe(403)
      expect(http.text).not.toContain('lastMid')
      const ws = await connectWs(server.url)
      ws.send({ type: 'hello', clientId: other.deviceId, token: user.access, cursor: null })
      expect((await ws.closed).code).toBe(4403)
    })
  })
}

runGaps('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-adv-gaps-')), 'pulse.db') }))

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('adv_gaps')
  runGaps('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
