/**
 * The client across a scope change (PROTOCOL.md §8, issue 8 finding 12), against a real server
 * with accounts on: a socket opened before its user created an organization has a stale view of
 * the user's scope. A task pushed into the new organization through it may be refused
 * (`forbidden`); when the server then says `scope_changed` (and closes 4401), the client
 * resyncs from no cursor and sends the refused task again instead of dropping it.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config, { task } from '../examples/tasks/pulse.config.ts'
import { makeOrg, signIn } from './support/accounts.ts'
import { eventually, testClient } from './support/client-harness.ts'
import { startTestServer } from './support/server.ts'

describe('client across a scope change', () => {
  let server: RunningServer
  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-client-scope-')), 'server.db') })
    // The server re-checks an open socket's scope this often (it may also be told at once).
    server = await startTestServer(defineSchema(config.models), storage, { auth: true, realtime: { recheckIntervalMs: 300 } })
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const transport of ['websocket', 'http'] as const) {
    it(`a task created in an organization made after the connection opened reaches the server (${transport})`, async () => {
      const me = await signIn(server.url, `scoper-${transport}`, 'laptop')
      const client = testClient(server.url, config.models, {
        clientId: me.deviceId,
        auth: () => ({ token: me.access }),
        ...(transport === 'http' ? { WebSocket: null } : {}),
      })
      const refused: string[] = []
      client.on('rejected', (e) => refused.push(e.error.code))
      try {
        await client.whenSynced()
        const orgId = await makeOrg(me, `Made later (${transport})`)
        const t = await client.create(task, { title: 'first task of a new org', orgId })
        await eventually(async () => (await me.api.get(`/api/tasks/${t.id}`)).status === 200, 'the task reached the server', 10_000)
        await client.whenSynced()
        await eventually(async () => (await client.get(task, t.id))?.localOnly === false, 'the client has the answer')
        expect(await client.get(task, t.id)).toMatchObject({ title: 'first task of a new org', syncError: null })
        expect(client.rejections()).toEqual([])
        expect(client.status()).toMatchObject({ rejected: 0, failed: 0, pending: 0 })
        // A refusal on the way (a stale socket's `forbidden`) was followed by the scope change's retry.
        expect(refused.every((code) => code === 'forbidden')).toBe(true)
      } finally {
        await client.close()
      }
    })
  }
})
