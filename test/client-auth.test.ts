/**
 * The client against a server with accounts (§9): the device id from the login is the
 * client id, the access token goes in the socket hello and as a bearer header over HTTP.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@pulse/client'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn } from './support/accounts.ts'
import { eventually, testClient } from './support/client-harness.ts'
import { startTestServer } from './support/server.ts'
import { note, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]

describe('client with accounts', () => {
  let server: RunningServer
  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-client-auth-')), 'server.db') })
    server = await startTestServer(syncSchema, storage, { auth: true })
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const transport of ['websocket', 'http'] as const) {
    it(`syncs over ${transport} with the login's device and token`, async () => {
      const me = await signIn(server.url, 'client-user', `laptop ${transport}`)
      const phone = await signIn(server.url, 'client-user', `phone ${transport}`)
      const socket = transport === 'http' ? { WebSocket: null } : {}
      const a: Client = testClient(server.url, models, { clientId: me.deviceId, auth: () => ({ token: me.access }), ...socket })
      const b: Client = testClient(server.url, models, { clientId: phone.deviceId, auth: () => ({ token: phone.access }), ...socket })
      try {
        const n = await a.create(note, { title: `signed in over ${transport}` })
        await eventually(async () => (await b.get(note, n.id))?.title === n.title, 'b receives it')
        expect(a.status()).toMatchObject({ online: true, transport, lastError: null })
        expect(await a.conflicts()).toEqual([])
      } finally {
        await a.close()
        await b.close()
      }
    })
  }

  it('onUnauthorized: a refused token asks the app for a fresh one, and syncing goes on at once', async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-client-ttl-')), 'server.db') })
    const shortLived = await startTestServer(syncSchema, storage, { auth: true, accessTtlSeconds: 2 })
    const me = await signIn(shortLived.url, 'refresher', 'laptop')
    let tokens = { access: me.access, refresh: me.refresh }
    const refreshed: string[] = []
    const a = testClient(shortLived.url, models, {
      clientId: me.deviceId,
      auth: () => ({ token: tokens.access }),
      onUnauthorized: async (error) => {
        refreshed.push((error as { code?: string }).code ?? String(error))
        const res = await fetch(`${shortLived.url}/api/auth/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh: tokens.refresh }),
        })
        tokens = (await res.json()) as typeof tokens
      },
    })
    try {
      await a.whenSynced()
      // Past the token's life the server closes the socket (4401); the hook gets a new token.
      await eventually(() => refreshed.length > 0, 'onUnauthorized called', 10_000)
      expect(refreshed[0]).toBe('unauthenticated')
      const n = await a.create(note, { title: 'after a refresh' })
      await a.whenSynced()
      expect(a.status()).toMatchObject({ online: true, transport: 'websocket', pending: 0 })
      const reader = await signIn(shortLived.url, 'refresher', 'reader')
      expect((await reader.api.get(`/api/notes/${n.id}`)).json).toMatchObject({ title: 'after a refresh' })
    } finally {
      await a.close()
      await shortLived.close()
    }
  })

  it('without credentials it stays offline and says why; nothing is lost', async () => {
    const a = testClient(server.url, models)
    try {
      const n = await a.create(note, { title: 'kept' })
      await eventually(() => a.status().lastError?.code === 'unauthenticated', 'refused')
      expect(a.status()).toMatchObject({ online: false, transport: null, pending: 1 })
      expect(await a.get(note, n.id)).toMatchObject({ localOnly: true })
      expect(a.errors.some((e) => (e as { code?: string }).code === 'unauthenticated')).toBe(true)
    } finally {
      await a.close()
    }
  })
})
