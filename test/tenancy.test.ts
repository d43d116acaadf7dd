/**
 * Cross-tenant isolation (PROTOCOL.md §8): two organizations, a user in each and one in both.
 * Every read and write path is tried across the boundary; nothing leaks, and each answer is
 * the one a record that does not exist gets.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeCursor, defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { startTestServer } from './support/server.ts'
import { connectWs, helloAndCatchUp } from './support/ws-client.ts'

const tmp = () => join(mkdtempSync(join(tmpdir(), 'pulse-tenancy-')), 'pulse.db')
type Json = Record<string, any>

/** An answer with the record's id (and the request id) blanked, for comparing two answers. */
function shape(res: { status: number; json: Json }, ...ids: string[]): string {
  let text = JSON.stringify({ status: res.status, body: { ...res.json, requestId: undefined } })
  for (const id of ids) text = text.replaceAll(id, '<id>')
  return text
}

describe('cross-tenant isolation', () => {
  let server: RunningServer
  let alice: SignedIn // org A
  let bob: SignedIn // org B
  let carol: SignedIn // both
  let orgA: string
  let orgB: string
  let taskB: Json

  beforeAll(async () => {
    server = await startTestServer(defineSchema(config.models), await createSqliteStorage({ filename: tmp() }), {
      auth: true,
      realtime: { recheckIntervalMs: 200 },
    })
    alice = await signIn(server.url, 'alice')
    bob = await signIn(server.url, 'bob')
    carol = await signIn(server.url, 'carol')
    orgA = await makeOrg(alice, 'A', [carol])
    orgB = await makeOrg(bob, 'B', [carol])
    const made = await bob.api.post('/api/tasks', { title: 'B secret', description: 'only for B' })
    expect(made.status).toBe(201)
    taskB = made.json
    expect((await alice.api.post('/api/tasks', { title: 'A task' })).status).toBe(201)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('REST: get, patch, delete and history of another tenant\u2019s record answer like a missing one', async () => {
    const ghost = uuidv7()
    const pairs: [string, () => Promise<{ status: number; json: Json }>, () => Promise<{ status: number; json: Json }>][] = [
      ['get', () => alice.api.get(`/api/tasks/${taskB.id}`), () => alice.api.get(`/api/tasks/${ghost}`)],
      [
        'patch',
        () => alice.api.patch(`/api/tasks/${taskB.id}`, { title: 'mine now' }),
        () => alice.api.patch(`/api/tasks/${ghost}`, { title: 'mine now' }),
      ],
      [
        'patch if-match',
        () => alice.api.patch(`/api/tasks/${taskB.id}`, { title: 'x' }, { 'if-match': '1' }),
        () => alice.api.patch(`/api/tasks/${ghost}`, { title: 'x' }, { 'if-match': '1' }),
      ],
      ['delete', () => alice.api.delete(`/api/tasks/${taskB.id}`), () => alice.api.delete(`/api/tasks/${ghost}`)],
      ['history', () => alice.api.get(`/api/tasks/${taskB.id}/history`), () => alice.api.get(`/api/tasks/${ghost}/history`)],
    ]
    for (const [label, across, missing] of pairs) {
      const a = await across()
      expect(a.status, label).toBe(404)
      expect(shape(a, taskB.id), label).toBe(shape(await missing(), ghost))
    }
    expect((await bob.api.get(`/api/tasks/${taskB.id}`)).json.title).toBe('B secret')
  })

  it('REST: lists show only my organization; naming another organization answers like an empty one', async () => {
    const list = await alice.api.get('/api/tasks?limit=1000')
    expect(list.json.items.map((t: Json) => t.orgId)).toEqual([orgA])
    const across = await alice.api.get(`/api/tasks?orgId=${orgB}`)
    const missing = await alice.api.get(`/api/tasks?orgId=${uuidv7()}`)
    expect(across.json).toEqual({ items: [], nextCursor: null })
    expect(shape(across)).toBe(shape(missing))
    expect(JSON.stringify(list.json)).not.toContain('B secret')
  })

  it('REST: cannot create in, or move a record to, another organization', async () => {
    const create = await alice.api.post('/api/tasks', { title: 'x', orgId: orgB })
    expect(create.status).toBe(403)
    const mine = (await alice.api.post('/api/tasks', { title: 'movable' })).json
    expect((await alice.api.patch(`/api/tasks/${mine.id}`, { orgId: orgB })).status).toBe(403)
    // Carol is in both, so she must say which; and she may move a record between them.
    expect((await carol.api.post('/api/tasks', { title: 'which org?' })).json.error.code).toBe('org_required')
    expect((await carol.api.post('/api/tasks', { title: 'in A', orgId: orgA })).status).toBe(201)
  })

  it('pull: sees only my organizations\u2019 records', async () => {
    const pulled = await alice.api.get('/api/sync/pull?limit=5000')
    expect(pulled.status).toBe(200)
    expect(pulled.json.changes.every((c: Json) => c.record.orgId === orgA || !('orgId' in c.record))).toBe(true)
    expect(JSON.stringify(pulled.json)).not.toContain(taskB.id)
    const both = await carol.api.get('/api/sync/pull?limit=5000')
    expect(both.json.changes.map((c: Json) => c.record.id)).toContain(taskB.id)
    // Entries alice cannot see do not hold her cursor back: her last page moves past them.
    await bob.api.post('/api/tasks', { title: 'B only, 1' })
    await bob.api.post('/api/tasks', { title: 'B only, 2' })
    const after = await alice.api.get(`/api/sync/pull?cursor=${pulled.json.cursor}`)
    expect(after.json.changes).toEqual([])
    expect(decodeCursor(after.json.cursor)).toBeGreaterThan(decodeCursor(pulled.json.cursor))
  })

  it('push: updates and deletes across the boundary are rejected like missing records; a create with a taken id reveals nothing', async () => {
    const ghost = uuidv7()
    const m = (mid: number, op: string, id: string, data?: Json) => ({
      mid,
      model: 'task',
      op,
      id,
      vclock: { [alice.deviceId]: mid },
      at: new Date().toISOString(),
      ...(op === 'create' ? {} : { baseVersion: 1 }),
      ...(data ? { data } : {}),
    })
    const res = await alice.api.post('/api/sync/push', {
      clientId: alice.deviceId,
      mutations: [
        m(1, 'update', taskB.id, { title: 'pwned' }),
        m(2, 'update', ghost, { title: 'pwned' }),
        m(3, 'delete', taskB.id),
        m(4, 'delete', ghost),
        m(5, 'create', taskB.id, { title: 'pwned' }),
      ],
    })
    expect(res.status).toBe(200)
    const [upd, updGhost, del, delGhost, create] = res.json.results
    expect(upd.status).toBe('rejected')
    expect(JSON.stringify(upd.error).replaceAll(taskB.id, '<id>')).toBe(JSON.stringify(updGhost.error).replaceAll(ghost, '<id>'))
    expect(JSON.stringify(del.error).replaceAll(taskB.id, '<id>')).toBe(JSON.stringify(delGhost.error).replaceAll(ghost, '<id>'))
    expect(create).toMatchObject({ status: 'rejected', error: { code: 'id_taken' } })
    expect(JSON.stringify(res.json)).not.toMatch(/B secret|only for B/)
    for (const r of res.json.results) expect(r.record).toBeUndefined()
    // A service token cannot push as a signed-in device (it would move that device's lastMid).
    const service = await (server.accounts as NonNullable<typeof server.accounts>).createApiToken({ name: 'svc', orgId: orgA })
    const asDevice = await fetch(`${server.url}/api/sync/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': service.token },
      body: JSON.stringify({ clientId: alice.deviceId, mutations: [] }),
    })
    expect(asDevice.status).toBe(403)
    const asItself = await fetch(`${server.url}/api/sync/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': service.token },
      body: JSON.stringify({ clientId: 'ingest-1', mutations: [] }),
    })
    expect(asItself.status).toBe(200)
    // A push as someone else's device is refused.
    expect((await alice.api.post('/api/sync/push', { clientId: bob.deviceId, mutations: [] })).status).toBe(403)
    expect((await bob.api.get(`/api/tasks/${taskB.id}`)).json).toMatchObject({ title: 'B secret', version: 1 })
  })

  it('WebSocket: the live stream carries only my organizations\u2019 changes', async () => {
    const ws = await connectWs(server.url)
    await helloAndCatchUp(ws, { clientId: alice.deviceId, token: alice.access })
    const other = await connectWs(server.url)
    const refused = other.closed
    other.send({ type: 'hello', clientId: bob.deviceId, token: alice.access, cursor: null })
    expect((await refused).code).toBe(4403)
    await bob.api.post('/api/tasks', { title: 'B live secret' })
    await alice.api.post('/api/tasks', { title: 'A live' })
    const live = await ws.next((msg) => msg.type === 'changes' && JSON.stringify(msg).includes('A live'))
    expect(JSON.stringify(live)).not.toContain('B live secret')
    expect(JSON.stringify(ws.messages)).not.toContain('B live secret')
    ws.ws.close()
  })

  it('a record moved to another organization reaches the old one as a removal, on pull and live', async () => {
    const task = (await carol.api.post('/api/tasks', { title: 'moving house', orgId: orgA })).json
    const aliceCursor = (await alice.api.get('/api/sync/pull?limit=5000')).json.cursor
    const bobCursor = (await bob.api.get('/api/sync/pull?limit=5000')).json.cursor
    const ws = await connectWs(server.url)
    await helloAndCatchUp(ws, { clientId: alice.deviceId, token: alice.access })
    expect((await carol.api.patch(`/api/tasks/${task.id}`, { orgId: orgB })).status).toBe(200)
    const live = await ws.next((m) => m.type === 'changes' && JSON.stringify(m).includes(task.id))
    expect(live).toMatchObject({ changes: [{ model: 'task', record: { id: task.id }, removed: true }] })
    expect(JSON.stringify(live)).not.toContain('moving house')
    const alicePull = await alice.api.get(`/api/sync/pull?cursor=${aliceCursor}`)
    expect(alicePull.json.changes).toEqual([{ model: 'task', record: { id: task.id }, removed: true }])
    const bobPull = await bob.api.get(`/api/sync/pull?cursor=${bobCursor}`)
    expect(bobPull.json.changes.map((c: Json) => [c.record.id, c.record.title, c.removed])).toEqual([[task.id, 'moving house', undefined]])
    ws.ws.close()
  })

  it('a record moved twice (A → B → C) still reaches A as a removal, and B, from cursors before both moves', async () => {
    const orgC = await makeOrg(carol, 'C', [])
    const task = (await carol.api.post('/api/tasks', { title: 'moving twice', orgId: orgA })).json
    const aliceCursor = (await alice.api.get('/api/sync/pull?limit=5000')).json.cursor
    const bobCursor = (await bob.api.get('/api/sync/pull?limit=5000')).json.cursor
    expect((await carol.api.patch(`/api/tasks/${task.id}`, { orgId: orgB })).status).toBe(200)
    expect((await carol.api.patch(`/api/tasks/${task.id}`, { orgId: orgC })).status).toBe(200)
    const removal = [{ model: 'task', record: { id: task.id }, removed: true }]
    expect((await alice.api.get(`/api/sync/pull?cursor=${aliceCursor}`)).json.changes).toEqual(removal)
    expect((await bob.api.get(`/api/sync/pull?cursor=${bobCursor}`)).json.changes).toEqual(removal)
    // Back into A: A hears the record again after its removal, in that order.
    expect((await carol.api.patch(`/api/tasks/${task.id}`, { orgId: orgA })).status).toBe(200)
    const again = (await alice.api.get(`/api/sync/pull?cursor=${aliceCursor}`)).json.changes
    expect(again.map((c: Json) => [c.record.id, c.record.title, c.removed])).toEqual([
      [task.id, undefined, true],
      [task.id, 'moving twice', undefined],
    ])
  })

  it('conflicts: another user\u2019s conflict cannot be listed or resolved', async () => {
    expect((await alice.api.get('/api/sync/conflicts')).json.items).toEqual([])
    const res = await alice.api.post(`/api/sync/conflicts/${uuidv7()}/resolve`, { choice: 'local' })
    expect(res.status).toBe(404)
  })

  it('a membership change closes live sockets and makes the next pull answer 410 scope_changed; the new snapshot drops the records', async () => {
    const before = await carol.api.get('/api/sync/pull?limit=5000')
    expect(before.json.changes.map((c: Json) => c.record.id)).toContain(taskB.id)
    const ws = await connectWs(server.url)
    await helloAndCatchUp(ws, { clientId: carol.deviceId, token: carol.access })
    expect((await bob.api.delete(`/api/orgs/${orgB}/members/${carol.userId}`)).status).toBe(204)
    expect(await ws.nextOf('error')).toMatchObject({ code: 'scope_changed' })
    expect((await ws.closed).code).toBe(4401)
    await bob.api.post('/api/tasks', { title: 'after carol left' })
    expect(JSON.stringify(ws.messages)).not.toContain('after carol left')
    const stale = await carol.api.get(`/api/sync/pull?cursor=${before.json.cursor}`)
    expect(stale.status).toBe(410)
    expect(stale.json.error.code).toBe('scope_changed')
    const fresh = await carol.api.get('/api/sync/pull?limit=5000')
    expect(fresh.json.changes.map((c: Json) => c.record.id)).not.toContain(taskB.id)
    expect((await carol.api.get(`/api/tasks/${taskB.id}`)).status).toBe(404)
    // Only owners and admins manage members.
    expect((await alice.api.post(`/api/orgs/${orgB}/members`, { username: 'alice' })).status).toBe(404)
  })

  it('users, devices and orgs show only what is mine', async () => {
    const users = (await alice.api.get('/api/users')).json.items.map((u: Json) => u.username).sort()
    expect(users).toEqual(['alice', 'carol'])
    const orgs = (await alice.api.get('/api/orgs')).json.items
    expect(orgs).toEqual([{ id: orgA, name: 'A', role: 'owner' }])
    const me = (await alice.api.get('/api/users/me')).json
    expect(me).toMatchObject({ username: 'alice', orgs: [{ id: orgA, name: 'A', role: 'owner' }] })
    expect(JSON.stringify(me)).not.toMatch(/password|hash/i)
    expect((await alice.api.get('/api/devices')).json.items.every((d: Json) => d.userId === alice.userId)).toBe(true)
  })
})

describe('model rules on top of scope', () => {
  // A diary entry: global scope, but only its author may read it, and nobody may edit a locked one.
  const entry = defineModel('entry', {
    plural: 'entries',
    fields: { text: f.text(), authorId: f.string({ max: 64 }), locked: f.boolean({ default: false }) },
    rules: {
      read: (record, caller) => record.authorId === caller.userId,
      write: (record) => record.locked !== true,
    },
  })
  let server: RunningServer
  let ann: SignedIn
  let ben: SignedIn

  beforeAll(async () => {
    server = await startTestServer(defineSchema([entry]), await createSqliteStorage({ filename: tmp() }), { auth: true })
    ann = await signIn(server.url, 'ann')
    ben = await signIn(server.url, 'ben')
  })
  afterAll(async () => {
    await server?.close()
  })

  it('a read rule hides records on every read path; a write rule refuses writes', async () => {
    const mine = (await ann.api.post('/api/entries', { text: 'dear diary', authorId: ann.userId })).json
    expect((await ben.api.get(`/api/entries/${mine.id}`)).status).toBe(404)
    expect((await ben.api.get('/api/entries')).json.items).toEqual([])
    expect(JSON.stringify((await ben.api.get('/api/sync/pull')).json)).not.toContain('dear diary')
    expect((await ben.api.post('/api/entries', { text: 'forged', authorId: ann.userId })).status).toBe(403)
    expect((await ann.api.patch(`/api/entries/${mine.id}`, { locked: true })).status).toBe(403)
    const locked = (await ann.api.post('/api/entries', { text: 'x', authorId: ann.userId, locked: true })).status
    expect(locked).toBe(403)
  })
})
