/**
 * Minimal reproductions of what the adversary fuzz (adversary.fuzz.test.ts) found, each pinned
 * as the smallest sequence of requests, on SQLite and PostgreSQL. The expectations are
 * PROTOCOL.md as docs/protocol.md states it.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema } from '@pulse/core'
import { createPostgresStorage, createSqliteStorage, type RunningServer, type Storage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { startTestServer } from './support/server.ts'
import { pgAvailable, pgUrl, usePgSchemas } from './support/services.ts'
import { connectWs, helloAndCatchUp } from './support/ws-client.ts'

const pg = await pgAvailable()
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function runRegressions(label: string, makeStorage: () => Promise<Storage>): void {
  describe(`adversary fuzz regressions on ${label}`, () => {
    let server: RunningServer
    let ann: SignedIn

    beforeAll(async () => {
      server = await startTestServer(defineSchema(config.models), await makeStorage(), { auth: true })
      ann = await signIn(server.url, 'ann')
      await makeOrg(ann, 'A')
      for (let i = 0; i < 3; i++) expect((await ann.api.post('/api/tasks', { title: `task ${i}`, priority: i })).status).toBe(201)
    })
    afterAll(async () => {
      await server?.close()
    })

    // Was: the list cursor's value went to the database as it came, whatever its type: an
    // array, an object, a boolean or a word where a time goes made a comparison the database
    // could not make, answered 500 (issue 8, finding 13).
    it('a forged list cursor whose value is not of its order\u2019s type is refused 400, never 500', async () => {
      const id = '01900000-0000-7000-8000-000000000001'
      const forged = [
        { o: 'createdAt', v: [1, 2], id },
        { o: 'createdAt', v: { a: 1 }, id },
        { o: 'createdAt', v: true, id },
        { o: 'createdAt', v: 'yesterday', id },
        { o: 'createdAt', v: 12, id },
        { o: 'createdAt', v: '2026-01-01T00:00:00.000Z', id: 'not-a-uuid' },
        { o: 'priority', v: 'high', id },
        { o: 'priority', v: [3], id },
        { o: '-title', v: { $gt: '' }, id },
      ]
      for (const cursor of forged) {
        const orderBy = cursor.o
        const res = await ann.api.get(`/api/tasks?orderBy=${encodeURIComponent(orderBy)}&cursor=${base64url(cursor)}`)
        expect(res.status, JSON.stringify(cursor)).toBe(400)
        expect(res.json.error).toMatchObject({ code: 'bad_request', details: [{ field: 'cursor', code: 'invalid_cursor' }] })
      }
      // The cursors the server hands out still page through every record once.
      const first = await ann.api.get('/api/tasks?orderBy=priority&limit=2')
      const second = await ann.api.get(`/api/tasks?orderBy=priority&limit=2&cursor=${first.json.nextCursor}`)
      expect([...first.json.items, ...second.json.items].map((t: { title: string }) => t.title)).toEqual(['task 0', 'task 1', 'task 2'])
      const byTime = await ann.api.get('/api/tasks?limit=1')
      expect((await ann.api.get(`/api/tasks?limit=5&cursor=${byTime.json.nextCursor}`)).json.items).toHaveLength(2)
    })

    // Was: a cursor past the change order was accepted and echoed back (issue 8, finding 16):
    // a client holding one — forged, or kept across a database restored from a backup — never
    // received the changes committed up to that position.
    it('a pull cursor ahead of the change order answers 410 cursor_expired, over HTTP and WebSocket', async () => {
      const head = (await ann.api.get('/api/sync/pull')).json.cursor as string
      const [, position, epoch] = /^c1\.([0-9a-z]+)(?:\.([0-9a-z]+))?$/.exec(head) ?? []
      const ahead = `c1.${(Number.parseInt(position as string, 36) + 1000).toString(36)}${epoch ? `.${epoch}` : ''}`
      const res = await ann.api.get(`/api/sync/pull?cursor=${ahead}`)
      expect(res.status).toBe(410)
      expect(res.json.error.code).toBe('cursor_expired')
      // The head itself is a cursor this server handed out: it still pulls.
      expect((await ann.api.get(`/api/sync/pull?cursor=${head}`)).status).toBe(200)
      const ws = await connectWs(server.url)
      ws.send({ type: 'hello', token: ann.access, clientId: ann.deviceId, cursor: ahead })
      await ws.nextOf('welcome')
      expect(await ws.nextOf('error')).toMatchObject({ code: 'cursor_expired' })
      ws.close()
      const live = await connectWs(server.url)
      await helloAndCatchUp(live, { token: ann.access, clientId: ann.deviceId })
      live.send({ type: 'pull', cursor: ahead })
      expect(await live.nextOf('error')).toMatchObject({ code: 'cursor_expired' })
      live.close()
    })
  })
}

runRegressions('SQLite', async () => createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-adv-reg-')), 'pulse.db') }))

describe.skipIf(!pg)('PostgreSQL', () => {
  const schemas = usePgSchemas('adv_regressions')
  runRegressions('PostgreSQL', async () => createPostgresStorage({ connectionString: pgUrl(), schema: schemas.next() }))
})
