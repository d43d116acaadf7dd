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
