/** Token lifetimes (PROTOCOL.md §9): expiry over REST and WebSocket, refresh rotation and replay, logout. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { signIn } from './support/accounts.ts'
import { httpClient, startTestServer } from './support/server.ts'
import { connectWs, helloAndCatchUp } from './support/ws-client.ts'

describe('token lifetimes', () => {
  let server: RunningServer
  let anonymous: ReturnType<typeof httpClient>

  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-tokens-')), 'pulse.db') })
    server = await startTestServer(defineSchema(config.models), storage, { auth: true, accessTtlSeconds: 2 })
    anonymous = httpClient(server.url)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('an expired access token is refused, and a socket whose token expires is closed with 4401', async () => {
    const user = await signIn(server.url, 'expiring')
    expect((await user.api.get('/api/items')).status).toBe(200)
    const ws = await connectWs(server.url)
    await helloAndCatchUp(ws, { clientId: user.deviceId, token: user.access })
    const closed = await ws.closed
    expect(closed.code).toBe(4401)
    const res = await user.api.get('/api/items')
    expect(res.status).toBe(401)
    expect(res.json.error.message).toMatch(/expired/)
  })

  it('refresh rotates: the old refresh token stops working, and replaying it revokes the whole family', async () => {
    const user = await signIn(server.url, 'rotating')
    const first = await anonymous.post('/api/auth/refresh', { refresh: user.refresh })
    expect(first.status).toBe(200)
    expect(first.json.refresh).not.toBe(user.refresh)
    const access = first.json.access as string
    expect((await httpClient(server.url, { authorization: `Bearer ${access}` }).get('/api/users/me')).status).toBe(200)
    // Replaying the used token: refused, and the token it was exchanged for is revoked too.
    expect((await anonymous.post('/api/auth/refresh', { refresh: user.refresh })).status).toBe(401)
    const second = await anonymous.post('/api/auth/refresh', { refresh: first.json.refresh })
    expect(second.status).toBe(401)
    expect(second.json.error.code).toBe('unauthenticated')
  })

  it('logout ends the session: its refresh token stops working', async () => {
    const user = await signIn(server.url, 'leaving')
    expect((await anonymous.post('/api/auth/logout', { refresh: user.refresh })).status).toBe(204)
    expect((await anonymous.post('/api/auth/refresh', { refresh: user.refresh })).status).toBe(401)
  })

  it('login with a device id reuses my device, never someone else\u2019s', async () => {
    const a = await signIn(server.url, 'device-owner')
    const again = await anonymous.post('/api/auth/login', {
      username: 'device-owner',
      password: 'correct horse battery staple',
      deviceId: a.deviceId,
    })
    expect(again.json.device.id).toBe(a.deviceId)
    const other = await signIn(server.url, 'device-thief')
    const stolen = await anonymous.post('/api/auth/login', {
      username: 'device-thief',
      password: 'correct horse battery staple',
      deviceId: a.deviceId,
    })
    expect(stolen.json.device.id).not.toBe(a.deviceId)
    expect(other.deviceId).not.toBe(a.deviceId)
  })

  it('wrong passwords slow further attempts on the account, without locking its owner out', async () => {
    await signIn(server.url, 'guarded')
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push((await anonymous.post('/api/auth/login', { username: 'guarded', password: `wrong ${i} password` })).status)
    expect(statuses).toEqual(Array(5).fill(401))
    // The sixth attempt must wait: 429 with retry-after, the right password included.
    const waiting = await anonymous.post('/api/auth/login', { username: 'guarded', password: 'correct horse battery staple' })
    expect(waiting.status).toBe(429)
    const retryAfter = Number(waiting.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    // Waiting as told is enough: no 15-minute lockout.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 50))
    const owner = await anonymous.post('/api/auth/login', { username: 'guarded', password: 'correct horse battery staple' })
    expect(owner.status).toBe(200)
  })
})
