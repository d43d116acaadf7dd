/**
 * Minimal reproductions of what the real-client convergence fuzz (client-convergence.fuzz.test.ts)
 * found, each pinned as the smallest sequence of client calls against a real server with
 * accounts on. The expectations are §4 (exactly once, never lost in silence).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FetchLike } from '@pulse/client'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SignedIn, signIn } from './support/accounts.ts'
import { eventually, testClient } from './support/client-harness.ts'
import { startTestServer } from './support/server.ts'
import { note, syncSchema } from './support/sync-models.ts'

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
})
