/**
 * Minimal reproductions of what the real-client convergence fuzz (client-convergence.fuzz.test.ts)
 * found, each pinned as the smallest sequence of client calls against a real server with
 * accounts on. The expectations are §4 (exactly once, never lost in silence).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FetchLike } from '@pulse/client'
import { defineSchema } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config, { task } from '../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { createTestNetwork, eventually, testClient } from './support/client-harness.ts'
import { startTestServer } from './support/server.ts'
import { note, orgNote, orgSyncSchema, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]

describe('client regressions found by the real-client convergence fuzz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-client-regressions-'))
  let server: RunningServer
  let me: SignedIn

  beforeAll(async () => {
    server = await startTestServer(syncSchema, await createSqliteStorage({ filename: join(dir, 'pulse.db') }), { auth: true })
    me = await signIn(server.url, 'regression-user', 'laptop')
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  // Was: a new store on a device the server knew (a reinstall, a cleared browser, a second
  // client of one login) hands out mids from 1 again. Its first push failed on the way (a
  // server restarting); the retry was answered `duplicate` (the server's lastMid for the device
  // was above it), and a duplicate of a mutation sent before counted as acknowledged: the
  // edit was dropped, the record stayed local forever, and the app was never told. The client
  // now learns the device's lastMid (an empty push) before it sends its first mutation.
  it('a fresh store on a known device whose first push fails on the way loses nothing (§4)', async () => {
    const auth = { clientId: me.deviceId, auth: () => ({ token: me.access }), WebSocket: null }
    const first = testClient(server.url, models, auth)
    try {
      for (const title of ['one', 'two']) await first.create(note, { title })
      await first.whenSynced()
    } finally {
      await first.close()
    }
    // The next store's first push never reaches the server.
    let failed = 0
    const flaky: FetchLike = async (url, init) => {
      if (url.endsWith('/api/sync/push') && init?.body?.includes('"mutations":[{') && failed === 0) {
        failed += 1
        throw new TypeError('fetch failed (connection reset)')
      }
      return fetch(url, init as RequestInit)
    }
    const second = testClient(server.url, models, { ...auth, fetch: flaky })
    try {
      const kept = await second.create(note, { title: 'made on the new store' })
      await eventually(() => failed === 1, 'the first push failed')
      await second.whenSynced()
      expect(second.rejections()).toEqual([])
      expect(await second.get(note, kept.id)).toMatchObject({ title: 'made on the new store', localOnly: false })
      expect((await me.api.get(`/api/notes/${kept.id}`)).json).toMatchObject({ title: 'made on the new store' })
    } finally {
      await second.close()
    }
  })

  // Was: after its user left an organization, a client with an edit of one of its records
  // pending kept the record through the resync (pending edits are kept), and when the server
  // refused the edit (`not_found`: out of scope) the record fell back to the last server state
  // the client had: a record of an organization the user had left stayed shown for good. Now
  // a `not_found` refusal of a record the client had from the server takes it away; the
  // refusal stays listed for the app.
  it('an edit refused not_found after leaving an organization takes the record away; the refusal is listed (§8)', async () => {
    const orgServer = await startTestServer(orgSyncSchema, await createSqliteStorage({ filename: join(dir, 'orgs.db') }), {
      auth: true,
      realtime: { recheckIntervalMs: 300 },
    })
    const ada = await signIn(orgServer.url, 'ada', 'laptop')
    const bob = await signIn(orgServer.url, 'bob', 'phone')
    const home = await makeOrg(ada, 'Home')
    const shared = await makeOrg(bob, 'Shared', [ada])
    const net = createTestNetwork()
    const client = testClient(orgServer.url, [...orgSyncSchema.models.values()], {
      clientId: ada.deviceId,
      auth: () => ({ token: ada.access }),
      fetch: net.fetch,
      WebSocket: net.WebSocket,
    })
    const refused: string[] = []
    client.on('rejected', (e) => refused.push(e.error.code))
    try {
      const kept = await client.create(orgNote, { title: 'mine', orgId: home })
      const theirs = await client.create(orgNote, { title: 'shared', orgId: shared })
      await client.whenSynced()
      net.down()
      await client.update(orgNote, theirs.id, { title: 'edited offline' })
      const left = await ada.api.delete(`/api/orgs/${shared}/members/${ada.userId}`)
      expect(left.status).toBe(204)
      net.up()
      await eventually(() => refused.length > 0 && client.status().pending === 0, 'the edit was refused', 10_000)
      await client.whenSynced()
      expect(refused.every((code) => code === 'not_found')).toBe(true)
      expect(client.rejections()).toMatchObject([{ id: theirs.id, op: 'update', error: { code: 'not_found' } }])
      expect(await client.get(orgNote, theirs.id)).toBeUndefined()
      expect((await client.query(orgNote)).map((n) => n.id)).toEqual([kept.id])
    } finally {
      await client.close()
      await orgServer.close()
    }
  })
  // Was: a push whose answer was lost on the way (the connection reset after the server
  // committed) was sent again and answered `duplicate` for every mutation; for one the server
  // had refused, the client took `duplicate` as acknowledged: the edit vanished and the app was
  // never told. The server now remembers refusals (a device's last 10,000 mids) and answers the
  // retry with the same refusal, so the app hears `rejected`.
  it('a refused edit whose answer was lost is reported when the push is retried, not dropped (§4)', async () => {
    const orgServer = await startTestServer(orgSyncSchema, await createSqliteStorage({ filename: join(dir, 'lost.db') }), { auth: true })
    const ada = await signIn(orgServer.url, 'ada-lost', 'laptop')
    const bob = await signIn(orgServer.url, 'bob-lost', 'phone')
    const home = await makeOrg(ada, 'Home')
    const notAdas = await makeOrg(bob, 'Bob only')
    let lost = 0
    const losing: FetchLike = async (url, init) => {
      const response = await fetch(url, init as RequestInit)
      if (url.endsWith('/api/sync/push') && init?.body?.includes('"mutations":[{') && lost === 0) {
        await response.arrayBuffer()
        lost += 1
        throw new TypeError('fetch failed (connection reset after the server answered)')
      }
      return response
    }
    const client = testClient(orgServer.url, [...orgSyncSchema.models.values()], {
      clientId: ada.deviceId,
      auth: () => ({ token: ada.access }),
      fetch: losing,
      WebSocket: null,
    })
    const refused: string[] = []
    client.on('rejected', (e) => refused.push(e.id))
    try {
      const kept = await client.create(orgNote, { title: 'mine', orgId: home })
      const intruder = await client.create(orgNote, { title: 'not mine to write', orgId: notAdas })
      await eventually(() => lost === 1, 'the first answer was lost')
      await eventually(() => refused.length > 0 && client.status().pending === 0, 'the refusal was reported', 10_000)
      await client.whenSynced()
      expect(refused).toEqual([intruder.id])
      expect(client.rejections()).toMatchObject([{ id: intruder.id, op: 'create' }])
      expect((await ada.api.get(`/api/notes/${kept.id}`)).status).toBe(200)
      expect((await bob.api.get(`/api/notes/${intruder.id}`)).status).toBe(404)
    } finally {
      await client.close()
      await orgServer.close()
    }
  })

  // Was: the same for an edit that opened a conflict (a `manual` field edited on both sides):
  // the retry was answered `duplicate`, the client took the edit as landed, and no `conflict`
  // event ever fired; the app could only find the conflict by listing them. The server now
  // remembers the conflict a mid opened and answers the retry `conflict` again.
  it('an edit that opened a conflict whose answer was lost fires the conflict event on the retry (§4)', async () => {
    let losing = false
    let lost = 0
    const flaky: FetchLike = async (url, init) => {
      const response = await fetch(url, init as RequestInit)
      if (losing && url.endsWith('/api/sync/push') && init?.body?.includes('"mutations":[{') && lost === 0) {
        await response.arrayBuffer()
        lost += 1
        throw new TypeError('fetch failed (connection reset after the server answered)')
      }
      return response
    }
    const auth = { clientId: me.deviceId, auth: () => ({ token: me.access }), WebSocket: null }
    const client = testClient(server.url, models, { ...auth, fetch: flaky })
    const told: { id: string; status: string; secret: unknown }[] = []
    client.on('conflict', (e) => told.push({ id: e.conflict.id, status: e.conflict.status, secret: e.record?.secret }))
    try {
      const n = await client.create(note, { title: 'contested', secret: 'base' })
      await client.whenSynced()
      // Another writer changes the manual field on the server; the client has not heard yet.
      const other = await me.api.patch(`/api/notes/${n.id}`, { secret: 'from REST' })
      expect(other.status).toBe(200)
      losing = true
      await client.update(note, n.id, { secret: 'from the client', title: 'kept' })
      await eventually(() => lost === 1, 'the first answer was lost')
      await eventually(() => told.length > 0, 'the conflict was reported on the retry', 10_000)
      await client.whenSynced()
      expect(told).toEqual([{ id: expect.any(String), status: 'open', secret: 'from REST' }])
      const open = (await client.conflicts({ status: 'open' })).filter((c) => c.recordId === n.id)
      expect(open.map((c) => c.id)).toEqual([told[0]?.id])
      expect(await client.get(note, n.id)).toMatchObject({ secret: 'from REST', title: 'kept', localOnly: false })
    } finally {
      await client.close()
    }
  })
})

// Was (FC_SEED=20261211, schedule 3,430 of the memory run and 1,718 of the SQLite one): an edit
// the server applied while its user was still a member of the record's organization, whose
// answer came (or was lost) only after the resync that followed the user leaving it. The resync
// kept the record for its pending edit; the late answer settled it (or the retry's `duplicate`,
// with no record to show, left the local copy), and nothing later would ever tell the client the
// record is out of scope: shown for good. Now a record kept through a resync for pending edits
// is checked by another resync once they are answered, and a `duplicate` the server answers
// without the record takes the local copy away. Over HTTP, the push's answer held by the test.
describe('client: an edit applied under the old scope, answered after the resync', () => {
  let server: RunningServer
  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-client-scope-late-')), 'server.db') })
    server = await startTestServer(defineSchema(config.models), storage, { auth: true })
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const answer of ['arrives late', 'is lost'] as const) {
    it(`drops the record once the answer ${answer === 'arrives late' ? 'arrives' : 'is lost and the retry answered'}: it is out of scope (${answer})`, async () => {
      const owner = await signIn(server.url, `late-owner-${answer.length}`)
      const me = await signIn(server.url, `late-member-${answer.length}`, 'phone')
      const orgId = await makeOrg(owner, `Left (${answer})`, [me])
      const mine = await makeOrg(me, `Mine (${answer})`)
      const shared = (await owner.api.post('/api/tasks', { title: 'shared', orgId })).json
      const own = (await me.api.post('/api/tasks', { title: 'my own', orgId: mine })).json
      let hold: { release(): void; lose(): void } | undefined
      let held: Promise<void> | undefined
      let fullPulls = 0
      // On the way out, whatever is still held is answered, so closing the client does not wait.
      let gateOpen = () => {}
      const fetchHeld: typeof fetch = async (url, init) => {
        const path = String(url)
        if (path.includes('/api/sync/pull') && !path.includes('cursor=')) fullPulls += 1
        const edits = path.includes('/api/sync/push') && JSON.parse(String(init?.body)).mutations.length > 0
        if (!edits || !hold) return fetch(url, init)
        const response = await fetch(url, init) // the server applies it now
        const gate = hold
        hold = undefined
        return new Promise<Response>((resolve, reject) => {
          gateOpen = () => resolve(response)
          gate.release = () => resolve(response)
          gate.lose = () => reject(new TypeError('fetch failed (the answer was lost)'))
          held = Promise.resolve()
        })
      }
      const client = testClient(server.url, config.models, {
        clientId: me.deviceId,
        auth: () => ({ token: me.access }),
        WebSocket: null,
        fetch: fetchHeld as never,
      })
      try {
        await client.whenSynced()
        expect(await client.get(task, shared.id)).toMatchObject({ title: 'shared' })
        const gate = { release() {}, lose() {} }
        hold = gate
        await client.update(task, shared.id, { title: 'edited while a member' })
        await eventually(() => held !== undefined, 'the push reached the server')
        expect((await owner.api.get(`/api/tasks/${shared.id}`)).json.title).toBe('edited while a member')
        expect((await owner.api.delete(`/api/orgs/${orgId}/members/${me.userId}`)).status).toBe(204)
        // The client learns of the change at its next pull (410 scope_changed) and resyncs; the
        // snapshot lacks the task, kept for its edit still waiting for an answer.
        const before = fullPulls
        await eventually(() => fullPulls > before, 'a resync from no cursor')
        if (answer === 'arrives late') gate.release()
        else gate.lose()
        await eventually(async () => (await client.get(task, shared.id)) === undefined, 'the out-of-scope task is dropped', 10_000)
        await client.whenSynced()
        expect(await client.get(task, shared.id)).toBeUndefined()
        expect(await client.get(task, own.id)).toMatchObject({ title: 'my own' })
        expect(client.outbox()).toEqual([])
        expect(client.rejections()).toEqual([])
      } finally {
        hold = undefined
        gateOpen()
        await client.close()
      }
    })
  }
})

// Was (FC_SEED=20261217, memory schedule 3,301, the first of a fresh server): a client that
// synced while the change order was empty held a cursor at position 0; the server exempted
// such cursors from the scope check (as if no cursor), so after its user left an organization
// its next pull answered normally instead of `scope_changed`, and a record of that
// organization the client had pushed stayed on it for good. Any cursor handed out is now checked.
describe('a cursor handed out by an empty change order', () => {
  it('answers scope_changed after a membership change, and the client drops the records it may no longer see (§8)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-empty-cursor-'))
    const fresh = await startTestServer(orgSyncSchema, await createSqliteStorage({ filename: join(dir, 'pulse.db') }), { auth: true })
    try {
      const ada = await signIn(fresh.url, 'ada-empty', 'laptop')
      const bob = await signIn(fresh.url, 'bob-empty', 'phone')
      await makeOrg(ada, 'Home')
      const shared = await makeOrg(bob, 'Shared', [ada])
      // Over the wire: the empty change order hands out a cursor at position 0.
      const early = (await ada.api.get('/api/sync/pull')).json.cursor as string
      expect(early.split('.')[1]).toBe('0')
      const client = testClient(fresh.url, [...orgSyncSchema.models.values()], {
        clientId: ada.deviceId,
        auth: () => ({ token: ada.access }),
        WebSocket: null,
      })
      try {
        await client.whenSynced()
        const n = await client.create(orgNote, { title: 'in Shared', orgId: shared })
        await client.whenSynced()
        expect((await bob.api.get(`/api/notes/${n.id}`)).status).toBe(200)
        expect((await ada.api.delete(`/api/orgs/${shared}/members/${ada.userId}`)).status).toBe(204)
        const stale = await ada.api.get(`/api/sync/pull?cursor=${early}`)
        expect(stale.status).toBe(410)
        expect(stale.json.error.code).toBe('scope_changed')
        await client.sync()
        await client.whenSynced()
        expect(await client.get(orgNote, n.id)).toBeUndefined()
      } finally {
        await client.close()
      }
    } finally {
      await fresh.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
