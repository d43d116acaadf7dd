/**
 * Sessions and credentials under attack (issue 8, findings 6, 9, 14, 16): racing refreshes of a
 * stolen token, replaying it, outliving a logout, guessing passwords from one address or
 * spoofing another, spelling one JWT four ways to get four rate budgets, registering endless
 * devices. On SQLite and PostgreSQL where storage is involved.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema, uuidv7 } from '@pulse/core'
import { createPostgresStorage, createSqliteStorage, type RunningServer, type SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { type SignedIn, signIn } from './support/accounts.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { connectWs, helloAndCatchUp } from './support/ws-client.ts'

const pg = await pgAvailable()
const schema = defineSchema(config.models)
const tmp = () => join(mkdtempSync(join(tmpdir(), 'pulse-adversary-')), 'pulse.db')
const PASSWORD = 'correct horse battery staple'
const TRIALS = 8

function runSessionAttacks(label: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`session attacks on ${label}`, () => {
    let server: RunningServer
    let anonymous: ReturnType<typeof httpClient>
    let n = 0
    const unique = (prefix: string) => {
      n += 1
      return `${prefix}${n}`
    }
    const fresh = (prefix: string) => signIn(server.url, unique(prefix))
    const refresh = (token: string) => anonymous.post('/api/auth/refresh', { refresh: token })
    const asBearer = (access: string) => httpClient(server.url, { authorization: `Bearer ${access}` })

    beforeAll(async () => {
      server = await startTestServer(schema, await makeStorage(), {
        auth: true,
        realtime: { recheckIntervalMs: 60_000 },
        authOptions: { maxDevicesPerUser: 5 },
      })
      anonymous = httpClient(server.url)
    })
    afterAll(async () => {
      await server?.close()
    })

    it('of many parallel refreshes of one token exactly one succeeds, and the losers revoke the family', async () => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const user = await fresh('racer')
        const answers = await Promise.all(Array.from({ length: 6 }, () => refresh(user.refresh)))
        const won = answers.filter((a) => a.status === 200)
        expect(won.length, `trial ${trial}: ${answers.map((a) => a.status)}`).toBe(1)
        expect(answers.every((a) => a.status === 200 || a.status === 401)).toBe(true)
        // The losers were replays: the winner's new refresh token is revoked with its family.
        expect((await refresh((won[0] as { json: Record<string, string> }).json.refresh as string)).status).toBe(401)
      }
    })

    it('a replay revokes the family, children issued concurrently included, and the device\u2019s access tokens', async () => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const victim = await fresh('victim')
        // The thief rotated the stolen token first.
        const stolen = await refresh(victim.refresh)
        expect(stolen.status).toBe(200)
        // The victim replays its copy while the thief rotates again.
        const [replay, thief] = await Promise.all([refresh(victim.refresh), refresh(stolen.json.refresh)])
        expect(replay.status).toBe(401)
        if (thief.status === 200) {
          expect((await refresh(thief.json.refresh)).status, `trial ${trial}`).toBe(401)
          expect((await asBearer(thief.json.access).get('/api/users/me')).status, `trial ${trial}`).toBe(401)
        }
        expect((await refresh(stolen.json.refresh)).status).toBe(401)
        expect((await asBearer(stolen.json.access).get('/api/users/me')).status).toBe(401)
        // Replayed again: still refused, the family still revoked.
        expect((await refresh(victim.refresh)).status).toBe(401)
        expect((await refresh(stolen.json.refresh)).status).toBe(401)
        // Logging in again works.
        expect((await anonymous.post('/api/auth/login', { username: victim.username, password: PASSWORD })).status).toBe(200)
      }
    })

    it('logout ends the device\u2019s session at once: access token, refresh token and open socket; other devices keep theirs', async () => {
      const user = await fresh('leaver')
      const other = await signIn(server.url, user.username, 'second device')
      const ws = await connectWs(server.url)
      await helloAndCatchUp(ws, { clientId: user.deviceId, token: user.access })
      const otherWs = await connectWs(server.url)
      await helloAndCatchUp(otherWs, { clientId: other.deviceId, token: other.access })
      expect((await user.api.get('/api/users/me')).status).toBe(200)
      expect((await anonymous.post('/api/auth/logout', { refresh: user.refresh })).status).toBe(204)
      expect((await user.api.get('/api/users/me')).status).toBe(401)
      expect((await refresh(user.refresh)).status).toBe(401)
      expect(await ws.nextOf('error')).toMatchObject({ code: 'unauthenticated' })
      expect((await ws.closed).code).toBe(4401)
      // A new socket with the old token is refused too.
      const again = await connectWs(server.url)
      again.send({ type: 'hello', clientId: user.deviceId, token: user.access, cursor: null })
      expect((await again.closed).code).toBe(4401)
      expect((await other.api.get('/api/users/me')).status).toBe(200)
      otherWs.send({ type: 'ping' })
      await otherWs.nextOf('pong')
      otherWs.close()
      // Logging in again as the same device works.
      const back = await anonymous.post('/api/auth/login', { username: user.username, password: PASSWORD, deviceId: user.deviceId })
      expect(back.json.device.id).toBe(user.deviceId)
      expect((await asBearer(back.json.access).get('/api/users/me')).status).toBe(200)
    })

    it('logins cannot make devices without end; a removed device signs out and makes room', async () => {
      const user = await fresh('hoarder')
      const devices: SignedIn[] = [user]
      for (let i = 1; i < 5; i++) devices.push(await signIn(server.url, user.username, `device ${i}`))
      const over = await anonymous.post('/api/auth/login', { username: user.username, password: PASSWORD, deviceName: 'one too many' })
      expect(over.status).toBe(403)
      expect((await user.api.post('/api/devices', { name: 'one too many' })).status).toBe(403)
      // An existing device logs in as usual.
      const reuse = await anonymous.post('/api/auth/login', { username: user.username, password: PASSWORD, deviceId: devices[2]?.deviceId })
      expect(reuse.status).toBe(200)
      // Removing one ends its session at once and makes room; nobody else may remove it.
      const gone = devices[4] as SignedIn
      // What sync keeps for the device as a client: its last mid and a remembered refusal.
      const refused = await gone.api.post('/api/sync/push', {
        clientId: gone.deviceId,
        mutations: [
          {
            mid: 1,
            model: 'task',
            op: 'update',
            id: uuidv7(),
            baseVersion: 1,
            vclock: { [gone.deviceId]: 1 },
            data: { title: 'x' },
            at: new Date().toISOString(),
          },
        ],
      })
      expect(refused.json.results).toMatchObject([{ mid: 1, status: 'rejected' }])
      const kept = () =>
        server.storage.sql.read(async (db) => [
          (await db.selectFrom('pulse_clients').select('client_id').where('client_id', '=', gone.deviceId).execute()).length,
          (await db.selectFrom('pulse_refusals').select('mid').where('client_id', '=', gone.deviceId).execute()).length,
        ])
      expect(await kept()).toEqual([1, 1])
      const stranger = await fresh('stranger')
      expect((await stranger.api.delete(`/api/devices/${gone.deviceId}`)).status).toBe(404)
      expect(await kept()).toEqual([1, 1]) // another user's attempt forgets nothing
      expect((await user.api.delete(`/api/devices/${gone.deviceId}`)).status).toBe(204)
      expect(await kept()).toEqual([0, 0])
      expect((await gone.api.get('/api/users/me')).status).toBe(401)
      expect((await refresh(gone.refresh)).status).toBe(401)
      expect((await user.api.delete(`/api/devices/${gone.deviceId}`)).status).toBe(404)
      expect((await anonymous.post('/api/auth/login', { username: user.username, password: PASSWORD })).status).toBe(200)
    })

    it('API tokens record when they were last used, at most once a minute', async () => {
      const accounts = server.accounts as NonNullable<RunningServer['accounts']>
      const created = await accounts.createApiToken({ name: 'meter', admin: true })
      const api = httpClient(server.url, { 'x-auth-token': created.token })
      expect((await api.get('/api/tasks')).status).toBe(200)
      const lastUsed = async () => (await accounts.listApiTokens()).find((t) => t.id === created.row.id)?.lastUsedAt
      for (let i = 0; i < 50 && !(await lastUsed()); i++) await new Promise((r) => setTimeout(r, 20))
      const first = await lastUsed()
      expect(first).toBeTruthy()
      for (let i = 0; i < 5; i++) expect((await api.get('/api/tasks')).status).toBe(200)
      await new Promise((r) => setTimeout(r, 100))
      expect(await lastUsed()).toBe(first)
    })

    it('usernames are one name in any case', async () => {
      const user = await fresh('Ada')
      const taken = await anonymous.post('/api/auth/register', { username: user.username.toLowerCase(), password: PASSWORD })
      expect(taken.status).toBe(409)
      const loud = await anonymous.post('/api/auth/login', { username: user.username.toUpperCase(), password: PASSWORD })
      expect(loud.status).toBe(200)
      expect(loud.json.user.id).toBe(user.userId)
    })
  })
}

runSessionAttacks('SQLite', async () => createSqliteStorage({ filename: tmp() }))

describe.skipIf(!pg)('on PostgreSQL', () => {
  const schemas = usePgSchemas('adv_sessions')
  runSessionAttacks('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})

describe('password guessing', () => {
  let proxied: RunningServer
  let direct: RunningServer
  beforeAll(async () => {
    proxied = await startTestServer(schema, await createSqliteStorage({ filename: tmp() }), {
      auth: true,
      trustProxy: true,
      authOptions: { loginThrottle: { addressBurst: 10 } },
    })
    direct = await startTestServer(schema, await createSqliteStorage({ filename: tmp() }), { auth: true })
  })
  afterAll(async () => {
    await proxied?.close()
    await direct?.close()
  })
  const login = (server: RunningServer, username: string, password: string, from: string) =>
    httpClient(server.url, { 'x-forwarded-for': from }).post('/api/auth/login', { username, password })

  it('guesses from one address slow that address down; the owner elsewhere logs in at once', async () => {
    await signIn(proxied.url, 'target')
    for (let i = 0; i < 5; i++) expect((await login(proxied, 'target', `guess ${i} wrong`, '203.0.113.7')).status).toBe(401)
    const slowed = await login(proxied, 'target', PASSWORD, '203.0.113.7')
    expect(slowed.status).toBe(429)
    expect(Number(slowed.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await login(proxied, 'target', PASSWORD, '198.51.100.20')).status).toBe(200)
  })

  it('an address spraying many accounts is held back for a short while, not for good', async () => {
    const victims: SignedIn[] = []
    for (let i = 0; i < 3; i++) victims.push(await signIn(proxied.url, `sprayed${i}`))
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await login(proxied, `sprayed${i % 3}`, `spray ${i} guess`, '192.0.2.66')).status)
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401))
    const held = await login(proxied, 'sprayed0', PASSWORD, '192.0.2.66')
    expect(held.status).toBe(429)
    // 10 failures refill over 15 minutes: one more attempt within 90 s.
    expect(Number(held.headers.get('retry-after'))).toBeLessThanOrEqual(90)
    expect((await login(proxied, 'sprayed0', PASSWORD, '192.0.2.67')).status).toBe(200)
  })

  it('without trustProxy, X-Forwarded-For does not buy a fresh address', async () => {
    await signIn(direct.url, 'spoofed')
    for (let i = 0; i < 5; i++) expect((await login(direct, 'spoofed', `guess ${i} wrong`, `10.0.0.${i}`)).status).toBe(401)
    expect((await login(direct, 'spoofed', 'another wrong guess', '10.9.9.9')).status).toBe(429)
  })
})

describe('rate limits by caller identity', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startTestServer(schema, await createSqliteStorage({ filename: tmp() }), {
      auth: true,
      authOptions: { tokenRatePerSecond: 10 },
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('the four spellings of one JWT share one budget', async () => {
    const user = await signIn(server.url, 'speller')
    const base = user.access.slice(0, -1)
    const last = user.access.slice(-1)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const index = alphabet.indexOf(last)
    // The signature's last character carries 2 unused bits: these four decode to the same bytes.
    const spellings = [0, 1, 2, 3].map((b) => `${base}${alphabet[(index & ~3) | b]}`)
    for (const s of spellings)
      expect((await httpClient(server.url, { authorization: `Bearer ${s}` }).get('/api/users/me')).status).not.toBe(401)
    await new Promise((r) => setTimeout(r, 1100))
    // 8 per spelling stays under a per-string limit of 10; 32 for one device cannot fit in 10 a second.
    const answers = await Promise.all(
      spellings.flatMap((s) =>
        Array.from({ length: 8 }, () => httpClient(server.url, { authorization: `Bearer ${s}` }).get('/api/users/me')),
      ),
    )
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0)
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true)
  })
})
