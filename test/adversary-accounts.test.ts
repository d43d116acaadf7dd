/**
 * Accounts under attack (issue 8, findings 5, 7, 12 and NUL input): tenants who try to pull
 * others into their organization, learn who exists, read co-members' emails, seize or strand an
 * organization, and keep reading or writing over a socket after they were removed or their
 * token was revoked. Each attack runs on SQLite and PostgreSQL; the cross-process one on
 * PostgreSQL with Redis. Sockets are re-checked only every minute here, so a socket closing
 * within the test's wait was closed by the bus event, not by the periodic re-check.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema, uuidv7 } from '@pulse/core'
import {
  type AccountTables,
  type Bus,
  createMemoryBus,
  createPostgresStorage,
  createRedisBus,
  createSqliteStorage,
  type RunningServer,
  type SqlStorage,
} from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { join as joinOrg, makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { runPulse } from './support/cli.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, redisAvailable, redisUrl, usePgSchemas } from './support/services.ts'
import { connectWs, helloAndCatchUp, type WsClient } from './support/ws-client.ts'

const pg = await pgAvailable()
const redis = await redisAvailable()
const schema = defineSchema(config.models)
const tmp = () => join(mkdtempSync(join(tmpdir(), 'pulse-adversary-')), 'pulse.db')
type Json = Record<string, any>
type Answer = { status: number; json: Json }

/** Sockets are re-checked every minute: anything faster is the bus at work. */
const SLOW_RECHECK = { recheckIntervalMs: 60_000 }

/** An answer with ids, names and times blanked, to compare two answers' shapes. */
function shape(res: Answer, ...blank: string[]): string {
  let text = JSON.stringify({ status: res.status, body: { ...res.json, requestId: undefined } })
  for (const b of blank) text = text.replaceAll(b, '<x>')
  return text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<t>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
}

async function liveSocket(server: RunningServer, who: SignedIn): Promise<WsClient> {
  const ws = await connectWs(server.url)
  await helloAndCatchUp(ws, { clientId: who.deviceId, token: who.access })
  return ws
}

function push(ws: WsClient, clientId: string, mid: number, data: Json): void {
  ws.send({
    type: 'push',
    mutations: [{ mid, model: 'task', op: 'create', id: uuidv7(), vclock: { [clientId]: mid }, at: new Date().toISOString(), data }],
  })
}

function runAccountAttacks(label: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`account attacks on ${label}`, () => {
    let server: RunningServer
    let n = 0
    const unique = (prefix: string) => {
      n += 1
      return `${prefix}${n}`
    }
    const fresh = (prefix: string) => signIn(server.url, unique(prefix))

    beforeAll(async () => {
      server = await startTestServer(schema, await makeStorage(), { auth: true, realtime: SLOW_RECHECK })
    })
    afterAll(async () => {
      await server?.close()
    })

    it('a manager cannot add anyone without consent, and cannot tell who exists', async () => {
      const mallory = await fresh('mallory')
      const victim = await fresh('victim')
      const org = await makeOrg(mallory, 'M')
      const added = await mallory.api.post(`/api/orgs/${org}/members`, { username: victim.username })
      const ghost = await mallory.api.post(`/api/orgs/${org}/members`, { username: 'no-such-user-anywhere' })
      expect(added.status).toBe(403)
      expect(shape(added, victim.username)).toBe(shape(ghost, 'no-such-user-anywhere'))
      expect((await victim.api.get('/api/orgs')).json.items).toEqual([])
      // Inviting answers the same too, and joins no one.
      const invited = await mallory.api.post(`/api/orgs/${org}/invitations`, { username: victim.username })
      const invitedGhost = await mallory.api.post(`/api/orgs/${org}/invitations`, { username: 'no-such-user-anywhere' })
      expect(invited.status).toBe(201)
      expect(shape(invited, victim.username.toLowerCase())).toBe(shape(invitedGhost, 'no-such-user-anywhere'))
      expect((await victim.api.get('/api/orgs')).json.items).toEqual([])
      const pending = (await victim.api.get('/api/invitations')).json.items
      expect(pending).toMatchObject([{ id: invited.json.id, orgId: org, orgName: 'M', role: 'member' }])
      // Nobody but the invitee accepts: mallory, or another user, get what a missing one gets.
      for (const who of [mallory, await fresh('bystander')]) {
        const res = await who.api.post(`/api/invitations/${invited.json.id}/accept`)
        expect(shape(res)).toBe(shape(await who.api.post(`/api/invitations/${uuidv7()}/accept`)))
        expect(res.status).toBe(404)
      }
      expect((await victim.api.post(`/api/invitations/${invited.json.id}/decline`)).status).toBe(204)
      expect((await victim.api.get('/api/invitations')).json.items).toEqual([])
      expect((await victim.api.get('/api/orgs')).json.items).toEqual([])
    })

    it('an invitation sent before an account existed does not reach whoever registers the name later', async () => {
      const owner = await fresh('owner')
      const org = await makeOrg(owner, 'Early')
      const name = `latecomer${randomUUID().slice(0, 8)}`
      expect((await owner.api.post(`/api/orgs/${org}/invitations`, { username: name })).status).toBe(201)
      const squatter = await signIn(server.url, name)
      expect((await squatter.api.get('/api/invitations')).json.items).toEqual([])
      // Sent again now, it is for the account that holds the name.
      const again = await owner.api.post(`/api/orgs/${org}/invitations`, { username: name.toUpperCase() })
      expect((await squatter.api.get('/api/invitations')).json.items.map((i: Json) => i.id)).toEqual([again.json.id])
      expect((await owner.api.get(`/api/orgs/${org}/invitations`)).json.items).toHaveLength(1)
      expect((await owner.api.delete(`/api/orgs/${org}/invitations/${again.json.id}`)).status).toBe(204)
      expect((await squatter.api.post(`/api/invitations/${again.json.id}/accept`)).status).toBe(404)
    })

    it('emails are shown only to owners and admins of a shared organization; any member may leave, the last owner may not', async () => {
      // Each signs up with an email on record.
      const withEmail = async (name: string) => {
        const username = unique(name)
        const password = 'correct horse battery staple'
        expect(
          (await httpClient(server.url).post('/api/auth/register', { username, password, email: `${username}@example.com` })).status,
        ).toBe(201)
        return signIn(server.url, username)
      }
      const owner = await withEmail('eowner')
      const member = await withEmail('emember')
      const org = await makeOrg(owner, 'E', [member])
      const emails = async (who: SignedIn) =>
        Object.fromEntries((await who.api.get('/api/users')).json.items.map((u: Json) => [u.username, u.email ?? null]))
      expect(await emails(member)).toEqual({ [owner.username]: null, [member.username]: `${member.username}@example.com` })
      expect(await emails(owner)).toEqual({
        [owner.username]: `${owner.username}@example.com`,
        [member.username]: `${member.username}@example.com`,
      })
      expect((await member.api.delete(`/api/orgs/${org}/members/${member.userId}`)).status).toBe(204)
      expect((await member.api.get('/api/orgs')).json.items).toEqual([])
      const last = await owner.api.delete(`/api/orgs/${org}/members/${owner.userId}`)
      expect(last.status).toBe(403)
      expect((await owner.api.get('/api/orgs')).json.items).toMatchObject([{ id: org, role: 'owner' }])
    })

    it('only owners touch owners, and an organization never loses its last owner', async () => {
      const owner = await fresh('rowner')
      const admin = await fresh('radmin')
      const member = await fresh('rmember')
      const org = await makeOrg(owner, 'R')
      await joinOrg(owner, admin, org, 'admin')
      await joinOrg(owner, member, org)
      const role = async (who: SignedIn) => (await who.api.get('/api/orgs')).json.items.find((o: Json) => o.id === org)?.role
      // An admin can neither demote nor remove the owner, nor make anyone (itself included) owner.
      expect((await admin.api.post(`/api/orgs/${org}/members`, { username: owner.username, role: 'member' })).status).toBe(403)
      expect((await admin.api.delete(`/api/orgs/${org}/members/${owner.userId}`)).status).toBe(403)
      expect((await admin.api.post(`/api/orgs/${org}/members`, { username: admin.username, role: 'owner' })).status).toBe(403)
      expect((await admin.api.post(`/api/orgs/${org}/invitations`, { username: 'someone-new', role: 'owner' })).status).toBe(403)
      // A member manages nothing; an admin manages members.
      expect((await member.api.post(`/api/orgs/${org}/members`, { username: member.username, role: 'admin' })).status).toBe(403)
      expect((await admin.api.post(`/api/orgs/${org}/members`, { username: member.username, role: 'admin' })).status).toBe(200)
      expect(await role(member)).toBe('admin')
      // The sole owner can neither demote nor remove themself.
      expect((await owner.api.post(`/api/orgs/${org}/members`, { username: owner.username, role: 'admin' })).status).toBe(403)
      expect((await owner.api.delete(`/api/orgs/${org}/members/${owner.userId}`)).status).toBe(403)
      expect(await role(owner)).toBe('owner')
      // Two owners demoting each other at once: at most one succeeds, every time.
      for (let trial = 0; trial < 6; trial++) {
        const a = await fresh('twin')
        const b = await fresh('twin')
        const twins = await makeOrg(a, `T${trial}`)
        await joinOrg(a, b, twins, 'owner')
        const results = await Promise.all([
          a.api.post(`/api/orgs/${twins}/members`, { username: b.username, role: 'member' }),
          b.api.post(`/api/orgs/${twins}/members`, { username: a.username, role: 'member' }),
          a.api.delete(`/api/orgs/${twins}/members/${a.userId}`),
          b.api.delete(`/api/orgs/${twins}/members/${b.userId}`),
        ])
        expect(
          results.every((r) => r.status < 500),
          JSON.stringify(results.map((r) => r.status)),
        ).toBe(true)
        const owners = await server.storage.sql.read((db) =>
          db
            .withTables<AccountTables>()
            .selectFrom('pulse_members')
            .select('user_id')
            .where('org_id', '=', twins)
            .where('role', '=', 'owner')
            .execute(),
        )
        expect(owners.length, `trial ${trial}`).toBeGreaterThanOrEqual(1)
      }
    })

    it('a removed member is cut off at once: the socket closes, and cannot push or pull before it does', async () => {
      const owner = await fresh('cowner')
      const member = await fresh('cmember')
      const org = await makeOrg(owner, 'C', [member])
      const ws = await liveSocket(server, member)
      expect((await owner.api.delete(`/api/orgs/${org}/members/${member.userId}`)).status).toBe(204)
      expect(await ws.nextOf('error')).toMatchObject({ code: 'scope_changed' })
      expect((await ws.closed).code).toBe(4401)
      await owner.api.post('/api/tasks', { title: 'after the removal' })
      expect(JSON.stringify(ws.messages)).not.toContain('after the removal')
    })

    it('a socket opened before its user created an organization is re-scoped, and its push into the new one applies', async () => {
      const founder = await fresh('founder')
      const ws = await liveSocket(server, founder)
      const org = (await founder.api.post('/api/orgs', { name: 'Fresh' })).json.id
      expect(await ws.nextOf('error')).toMatchObject({ code: 'scope_changed' })
      expect((await ws.closed).code).toBe(4401)
      const again = await liveSocket(server, founder)
      push(again, founder.deviceId, 1, { title: 'first task', orgId: org })
      const result = await again.nextOf('pushResult')
      expect(result.results[0]).toMatchObject({ status: 'applied' })
      again.close()
    })

    it('deleting an organization closes its members\u2019 sockets and stops its API tokens; only owners may', async () => {
      const owner = await fresh('downer')
      const admin = await fresh('dadmin')
      const org = await makeOrg(owner, 'D')
      await joinOrg(owner, admin, org, 'admin')
      const service = await (server.accounts as NonNullable<RunningServer['accounts']>).createApiToken({ name: 'svc', orgId: org })
      const serviceApi = httpClient(server.url, { 'x-auth-token': service.token })
      expect((await serviceApi.get('/api/tasks')).status).toBe(200)
      const ws = await liveSocket(server, admin)
      expect((await admin.api.delete(`/api/orgs/${org}`)).status).toBe(403)
      expect((await owner.api.delete(`/api/orgs/${org}`)).status).toBe(204)
      expect(await ws.nextOf('error')).toMatchObject({ code: 'scope_changed' })
      expect((await ws.closed).code).toBe(4401)
      expect((await serviceApi.get('/api/tasks')).status).toBe(401)
      expect((await admin.api.get('/api/orgs')).json.items).toEqual([])
      expect((await owner.api.delete(`/api/orgs/${org}`)).status).toBe(404)
    })

    it('a revoked API token stops at once: its requests fail and its socket closes', async () => {
      const owner = await fresh('towner')
      const org = await makeOrg(owner, 'Tok')
      const accounts = server.accounts as NonNullable<RunningServer['accounts']>
      const service = await accounts.createApiToken({ name: 'ingest', orgId: org })
      const ws = await connectWs(server.url)
      await helloAndCatchUp(ws, { clientId: 'ingest-1', token: service.token })
      await accounts.revokeApiToken(service.row.id)
      expect(await ws.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
      expect((await ws.closed).code).toBe(4401)
      expect((await httpClient(server.url, { 'x-auth-token': service.token }).get('/api/tasks')).status).toBe(401)
    })

    it('refuses NUL and lone surrogates in account input with 422, never 500', async () => {
      const owner = await fresh('nowner')
      const org = await makeOrg(owner, 'N')
      const anonymous = httpClient(server.url)
      const answers = [
        await anonymous.post('/api/auth/register', { username: 'nul\u0000name', password: 'a fine long password' }),
        await anonymous.post('/api/auth/register', {
          username: 'fine-name-x',
          email: 'a\u0000b@example.com',
          password: 'a fine long password',
        }),
        await anonymous.post('/api/auth/register', { username: 'fine-name-y', password: 'a fine \ud800 password' }),
        await anonymous.post('/api/auth/login', { username: owner.username, password: 'x', deviceName: 'phone\u0000' }),
        await owner.api.post('/api/orgs', { name: 'evil\u0000org' }),
        await owner.api.post('/api/orgs', { name: 'lone \udc00 surrogate' }),
        await owner.api.post('/api/devices', { name: 'dev\u0000ice' }),
        await owner.api.post(`/api/orgs/${org}/invitations`, { username: 'x\u0000y' }),
      ]
      expect(answers.map((a) => a.status)).toEqual(Array(answers.length).fill(422))
      const oddLogin = await anonymous.post('/api/auth/login', { username: 'nul\u0000name', password: 'a fine long password' })
      expect(oddLogin.status).toBe(401)
      const oddDevice = await anonymous.post('/api/auth/login', {
        username: owner.username,
        password: 'correct horse battery staple',
        deviceId: 'dev_\u0000',
      })
      expect(oddDevice.status).toBe(200)
      expect((await owner.api.delete('/api/devices/dev_%00')).status).toBe(404)
      expect((await owner.api.post('/api/invitations/%00/accept')).status).toBe(404)
    })
  })
}

runAccountAttacks('SQLite', async () => createSqliteStorage({ filename: tmp() }))

describe.skipIf(!pg)('on PostgreSQL', () => {
  const schemas = usePgSchemas('adv_accounts')
  runAccountAttacks('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})

describe('when the bus loses an access change', () => {
  let server: RunningServer
  beforeAll(async () => {
    // A bus whose control channel drops everything: only each push's own check remains.
    const inner = createMemoryBus()
    const deaf: Bus = { ...inner, publishControl: async () => {}, close: () => inner.close() }
    server = await startTestServer(schema, await createSqliteStorage({ filename: tmp() }), {
      auth: true,
      bus: deaf,
      realtime: SLOW_RECHECK,
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('a socket push is authorised against current membership, not the hello\u2019s', async () => {
    const owner = await signIn(server.url, 'lowner')
    const member = await signIn(server.url, 'lmember')
    const org = await makeOrg(owner, 'L', [member])
    const ws = await liveSocket(server, member)
    expect((await owner.api.delete(`/api/orgs/${org}/members/${member.userId}`)).status).toBe(204)
    push(ws, member.deviceId, 1, { title: 'written after removal', orgId: org })
    expect(await ws.nextOf('error')).toMatchObject({ code: 'scope_changed' })
    expect((await ws.closed).code).toBe(4401)
    expect(ws.messages.some((m) => m.type === 'pushResult')).toBe(false)
    expect(JSON.stringify((await owner.api.get('/api/tasks')).json)).not.toContain('written after removal')
  })
})

describe.skipIf(!pg || !redis)('across processes (PostgreSQL and Redis)', () => {
  const schemas = usePgSchemas('adv_procs')
  let a: RunningServer
  let b: RunningServer
  beforeAll(async () => {
    const pgSchema = schemas.next()
    const channel = `pulse:test:${randomUUID()}`
    const storage = () => createPostgresStorage({ connectionString: pgUrl(), schema: pgSchema })
    a = await startTestServer(schema, await storage(), {
      auth: true,
      bus: await createRedisBus(redisUrl(), { channel }),
      realtime: SLOW_RECHECK,
    })
    b = await startTestServer(schema, await storage(), {
      auth: true,
      bus: await createRedisBus(redisUrl(), { channel }),
      realtime: SLOW_RECHECK,
    })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
  })

  it('a removal, a logout and a revocation made through one process close the sockets on another', async () => {
    const owner = await signIn(a.url, 'powner')
    const member = await signIn(a.url, 'pmember')
    // The member's joining reaches B over Redis after A answered: a socket B authenticates
    // before that would be closed as scope_changed (it may have read the old state), so wait.
    const joinedOnB = new Promise<void>((resolve) => {
      const stop = b.bus.subscribeControl((m) => {
        if (m.type === 'membership_changed' && m.userIds.includes(member.userId)) {
          stop()
          resolve()
        }
      })
    })
    const org = await makeOrg(owner, 'P', [member])
    await joinedOnB
    const removed = await liveSocket(b, member)
    expect((await owner.api.delete(`/api/orgs/${org}/members/${member.userId}`)).status).toBe(204)
    expect(await removed.nextOf('error')).toMatchObject({ code: 'scope_changed' })
    expect((await removed.closed).code).toBe(4401)

    const signedOut = await liveSocket(b, owner)
    expect((await httpClient(a.url).post('/api/auth/logout', { refresh: owner.refresh })).status).toBe(204)
    expect(await signedOut.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
    expect((await signedOut.closed).code).toBe(4401)

    const service = await (a.accounts as NonNullable<RunningServer['accounts']>).createApiToken({ name: 'svc', admin: true })
    const serviceSocket = await connectWs(b.url)
    await helloAndCatchUp(serviceSocket, { clientId: 'svc-1', token: service.token })
    // B has read (and keeps, issue 12) the token for its REST requests too.
    const serviceOnB = httpClient(b.url, { 'x-auth-token': service.token })
    expect((await serviceOnB.get('/api/tasks')).status).toBe(200)
    await (a.accounts as NonNullable<RunningServer['accounts']>).revokeApiToken(service.row.id)
    expect(await serviceSocket.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
    expect((await serviceSocket.closed).code).toBe(4401)
    // Heard on B's control channel: B's next REST request with it is refused at once.
    expect((await serviceOnB.get('/api/tasks')).status).toBe(401)
  })
})

describe.skipIf(!redis)('a revocation from the command line (Redis)', () => {
  let server: RunningServer
  let file: string
  beforeAll(async () => {
    file = tmp()
    // The CLI announces on the default channel, as a deployment's servers listen.
    server = await startTestServer(schema, await createSqliteStorage({ filename: file }), {
      auth: true,
      bus: await createRedisBus(redisUrl()),
      realtime: SLOW_RECHECK,
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('`pulse token revoke --redis` closes the token\u2019s open sockets on the running servers at once', async () => {
    const service = await (server.accounts as NonNullable<RunningServer['accounts']>).createApiToken({ name: 'cli-revoked', admin: true })
    const ws = await connectWs(server.url)
    await helloAndCatchUp(ws, { clientId: 'svc-cli', token: service.token })
    const rest = httpClient(server.url, { 'x-auth-token': service.token })
    expect((await rest.get('/api/tasks')).status).toBe(200)
    const revoked = await runPulse(['token', 'revoke', service.row.id, '--database', file, '--redis', redisUrl()])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(await ws.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
    expect((await ws.closed).code).toBe(4401)
    expect((await rest.get('/api/tasks')).status).toBe(401)
  })
})
