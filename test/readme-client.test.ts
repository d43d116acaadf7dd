/** The README's client example, run as written (Node, memory store) against a real server. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, createMemoryStore } from '@pulse/client'
import { defineSchema } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config, { task } from '../examples/tasks/pulse.config.ts'
import { makeOrg, signIn } from './support/accounts.ts'
import { startTestServer } from './support/server.ts'

describe('README: using the client', () => {
  let server: RunningServer

  beforeAll(async () => {
    server = await startTestServer(
      defineSchema(config.models),
      await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-readme-')), 'p.db') }),
      { auth: true },
    )
  })
  afterAll(async () => {
    await server?.close()
  })

  it('creates, updates, queries live and syncs', async () => {
    const first = await signIn(server.url, 'reader')
    const orgId = await makeOrg(first, 'Reader Inc')
    const login = await signIn(server.url, 'reader', 'laptop')

    // --- as in README.md ---
    const client = createClient({
      url: server.url,
      models: config.models,
      store: createMemoryStore(),
      clientId: login.deviceId,
      auth: () => ({ token: login.access }),
    })
    const t = await client.create(task, { title: 'Works offline', orgId })
    await client.update(task, t.id, { status: 'done' })
    const open = client.live(task, { where: { status: { ne: 'done' } }, orderBy: 'priority' })
    const seen: number[] = []
    open.subscribe(() => seen.push(open.getSnapshot()?.length ?? -1))
    client.subscribeStatus(() => client.status())
    await client.whenSynced()
    // --- end ---

    expect(client.status()).toMatchObject({ pending: 0, upToDate: true, rejected: 0 })

    await client.create(task, { title: 'Still to do', orgId })
    await client.sync()
    expect(client.status().pending).toBe(0)
    expect(open.getSnapshot()?.map((r) => r.title)).toEqual(['Still to do'])
    expect(seen.length).toBeGreaterThan(0)
    const onServer = await login.api.get(`/api/tasks/${t.id}`)
    expect(onServer.json).toMatchObject({ title: 'Works offline', status: 'done' })
    await client.close()
  })
})
