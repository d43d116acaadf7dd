/**
 * The REST API (PROTOCOL.md §7, §10) against a real server on an ephemeral port, run once per
 * database. Bad input must be answered with the right status and a §7 body, write nothing,
 * and leave the server healthy.
 */
import { defineSchema, type Schema } from '@pulse/core'
import type { RunningServer, SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../../examples/tasks/pulse.config.ts'
import { makeOrg, signIn } from './accounts.ts'
import { type httpClient, startTestServer } from './server.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function expectError(res: { status: number; json: Record<string, any>; headers: Headers }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.json)).toBe(status)
  expect(res.json.error.code).toBe(code)
  expect(typeof res.json.error.message).toBe('string')
  expect(res.json.requestId).toBe(res.headers.get('x-request-id'))
  expect(JSON.stringify(res.json)).not.toMatch(/\bat .*\.ts:\d+|SELECT |INSERT |sqlite|postgres/i)
}

/** Runs the REST suite against storages made by `makeStorage`. */
export function runRestSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`REST API on ${name}`, () => {
    const schema: Schema = defineSchema(config.models)
    let server: RunningServer
    let api: ReturnType<typeof httpClient>
    let orgId: string

    beforeAll(async () => {
      server = await startTestServer(schema, await makeStorage(), { bodyLimitBytes: 1024 * 1024, auth: true })
      const first = await signIn(server.url, 'rest-user')
      orgId = await makeOrg(first, 'REST Inc')
      // Signed in again: the new token's user now belongs to the organization.
      api = (await signIn(server.url, 'rest-user')).api
    })
    afterAll(async () => {
      await server?.close()
    })

    async function countTasks(): Promise<number> {
      let n = 0
      let cursor: string | null = null
      do {
        const res = await api.get(`/api/tasks?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
        n += res.json.items.length
        cursor = res.json.nextCursor
      } while (cursor)
      return n
    }

    it('creates, reads, lists, filters, patches, deletes and keeps history', async () => {
      const created = await api.post(
        '/api/tasks',
        { title: 'Write the README', priority: 2, tags: ['docs', 'b'] },
        { 'x-request-id': 'req-create-1' },
      )
      expect(created.status).toBe(201)
      expect(created.headers.get('x-request-id')).toBe('req-create-1')
      const t = created.json
      expect(t).toMatchObject({
        title: 'Write the README',
        status: 'todo',
        priority: 2,
        tags: ['b', 'docs'],
        version: 1,
        deletedAt: null,
        dueDate: null,
      })
      expect(t.id).toMatch(UUID)
      expect(Object.values(t.vclock)).toEqual([1])
      expect(t.orgId).toBe(orgId)
      expect(created.headers.get('location')).toBe(`/api/tasks/${t.id}`)
      expect(created.headers.get('etag')).toBe('"1"')

      expect((await api.get(`/api/tasks/${t.id}`)).json).toEqual(t)

      await api.post('/api/tasks', { title: 'Second', status: 'done', priority: 4 })
      const done = await api.get('/api/tasks?status=done')
      expect(done.json.items.map((x: { title: string }) => x.title)).toContain('Second')
      expect(done.json.items.every((x: { status: string }) => x.status === 'done')).toBe(true)
      const high = await api.get('/api/tasks?priority=4&orderBy=-createdAt')
      expect(high.json.items.every((x: { priority: number }) => x.priority === 4)).toBe(true)

      const patched = await api.patch(`/api/tasks/${t.id}`, { status: 'in_progress' }, { 'if-match': '1' })
      expect(patched.status).toBe(200)
      expect(patched.json).toMatchObject({ status: 'in_progress', version: 2 })
      const stale = await api.patch(`/api/tasks/${t.id}`, { status: 'done' }, { 'if-match': '1' })
      expectError(stale, 409, 'version_conflict')
      const unconditional = await api.patch(`/api/tasks/${t.id}`, { title: 'Write the README well' })
      expect(unconditional.json).toMatchObject({ version: 3, status: 'in_progress', title: 'Write the README well' })

      const removed = await api.delete(`/api/tasks/${t.id}`, { 'if-match': '"3"' })
      expect(removed.status).toBe(204)
      expectError(await api.get(`/api/tasks/${t.id}`), 404, 'not_found')
      expectError(await api.patch(`/api/tasks/${t.id}`, { title: 'ghost' }), 404, 'not_found')

      const history = await api.get(`/api/tasks/${t.id}/history`)
      expect(history.status).toBe(200)
      expect(history.json.items.map((h: { version: number; op: string }) => [h.version, h.op])).toEqual([
        [1, 'create'],
        [2, 'update'],
        [3, 'update'],
        [4, 'delete'],
      ])
      expect(history.json.items[0].requestId).toBe('req-create-1')
      expect(history.json.items[1].changes).toEqual({ status: { old: 'todo', new: 'in_progress' } })
      expect(history.json.items[2].changes).toEqual({ title: { old: 'Write the README', new: 'Write the README well' } })
    })

    it('answers an unchanged patch without a new version', async () => {
      const t = (await api.post('/api/tasks', { title: 'Same' })).json
      const again = await api.patch(`/api/tasks/${t.id}`, { title: 'Same' })
      expect(again.json.version).toBe(1)
      expect((await api.get(`/api/tasks/${t.id}/history`)).json.items).toHaveLength(1)
    })

    it('pages through a list with keyset cursors, each record once', async () => {
      const project = (await api.post('/api/projects', { name: 'Paging' })).json
      expect(project.orgId).toBe(orgId)
      const made = new Set<string>()
      for (let i = 0; i < 7; i++)
        made.add((await api.post('/api/tasks', { title: `p${i}`, projectId: project.id, priority: i % 3 })).json.id)
      for (const order of ['createdAt', '-createdAt', 'priority', '-priority', 'title', 'dueDate']) {
        const seen: string[] = []
        let cursor: string | null = null
        do {
          const res = await api.get(`/api/tasks?projectId=${project.id}&limit=2&orderBy=${order}${cursor ? `&cursor=${cursor}` : ''}`)
          expect(res.status, JSON.stringify(res.json)).toBe(200)
          seen.push(...res.json.items.map((x: { id: string }) => x.id))
          cursor = res.json.nextCursor
        } while (cursor)
        expect(seen.length, order).toBe(7)
        expect(new Set(seen), order).toEqual(made)
      }
      const asc = await api.get(`/api/tasks?projectId=${project.id}&orderBy=priority&limit=100`)
      const priorities = asc.json.items.map((x: { priority: number }) => x.priority)
      expect(priorities).toEqual([...priorities].sort((a, b) => a - b))
    })

    it('keeps decimals exact and dates as dates', async () => {
      const res = await api.post('/api/items', { name: 'Pen', price: '1234.5' })
      expect(res.json.price).toBe('1234.50')
      expect((await api.get(`/api/items/${res.json.id}`)).json.price).toBe('1234.50')
      const due = await api.post('/api/tasks', { title: 'due', dueDate: '2026-12-24' })
      expect(due.json.dueDate).toBe('2026-12-24')
      expect((await api.get(`/api/tasks?dueDate=2026-12-24`)).json.items.map((x: { id: string }) => x.id)).toEqual([due.json.id])
    })

    it('creates with a client-made id, and treats a second create of it as an update', async () => {
      const id = '0192f0b4-1c6a-7abc-8def-000000000123'
      const first = await api.post('/api/tasks', { id, title: 'offline made' })
      expect(first.json).toMatchObject({ id, version: 1 })
      const again = await api.post('/api/tasks', { id, title: 'offline made, edited' })
      expect(again.json).toMatchObject({ id, version: 2, title: 'offline made, edited' })
    })

    it('refuses bad input with a §7 body and writes nothing', async () => {
      const before = await countTasks()
      const cases: [string, () => ReturnType<typeof api.get>, number, string][] = [
        ['wrong types', () => api.post('/api/tasks', { title: 5, priority: 'high', tags: 'x' }), 422, 'validation_failed'],
        ['unknown field', () => api.post('/api/tasks', { title: 'x', colour: 'red' }), 422, 'validation_failed'],
        ['read-only field', () => api.post('/api/tasks', { title: 'x', version: 9 }), 422, 'validation_failed'],
        ['over-long string', () => api.post('/api/tasks', { title: 'x'.repeat(201) }), 422, 'validation_failed'],
        ['out-of-range integer', () => api.post('/api/tasks', { title: 'x', priority: 6 }), 422, 'validation_failed'],
        ['invalid enum', () => api.post('/api/tasks', { title: 'x', status: 'blocked' }), 422, 'validation_failed'],
        ['missing required', () => api.post('/api/tasks', {}), 422, 'validation_failed'],
        ['array body', () => api.post('/api/tasks', [{ title: 'x' }]), 422, 'validation_failed'],
        ['malformed JSON', () => api.post('/api/tasks', '{"title": "x",'), 400, 'invalid_json'],
        ['empty JSON body', () => api.post('/api/tasks', ''), 400, 'invalid_json'],
        ['__proto__ key', () => api.post('/api/tasks', '{"title":"x","__proto__":{"admin":true}}'), 400, 'bad_request'],
        [
          'constructor.prototype key',
          () => api.post('/api/tasks', '{"title":"x","constructor":{"prototype":{"a":1}}}'),
          400,
          'bad_request',
        ],
        [
          'wrong content type',
          () => api.post('/api/tasks', 'title=x', { 'content-type': 'application/x-www-form-urlencoded' }),
          415,
          'unsupported_media_type',
        ],
        [
          '10 MB body',
          () => api.post('/api/tasks', JSON.stringify({ title: 'x', description: 'y'.repeat(10 * 1024 * 1024) })),
          413,
          'payload_too_large',
        ],
        ['unknown model', () => api.post('/api/widgets', { title: 'x' }), 404, 'not_found'],
        ['unknown model list', () => api.get('/api/widgets'), 404, 'not_found'],
        ['invalid UUID', () => api.get('/api/tasks/not-a-uuid'), 400, 'invalid_id'],
        ['invalid UUID patch', () => api.patch('/api/tasks/123', { title: 'x' }), 400, 'invalid_id'],
        ['absent record', () => api.get('/api/tasks/0192f0b4-1c6a-7000-8000-00000000dead'), 404, 'not_found'],
        [
          'bad If-Match',
          () => api.patch('/api/tasks/0192f0b4-1c6a-7000-8000-00000000dead', { title: 'x' }, { 'if-match': 'abc' }),
          400,
          'bad_request',
        ],
        ['empty patch', () => api.patch('/api/tasks/0192f0b4-1c6a-7000-8000-00000000dead', {}), 422, 'validation_failed'],
        ['unknown filter', () => api.get('/api/tasks?colour=red'), 400, 'bad_request'],
        ['SQL-looking filter field', () => api.get('/api/tasks?title%22%3B%20DROP%20TABLE%20task%3B--=1'), 400, 'bad_request'],
        ['bad filter value', () => api.get('/api/tasks?priority=high'), 400, 'bad_request'],
        ['bad limit', () => api.get('/api/tasks?limit=0'), 400, 'bad_request'],
        ['huge limit', () => api.get('/api/tasks?limit=100000'), 400, 'bad_request'],
        ['bad orderBy', () => api.get('/api/tasks?orderBy=colour'), 400, 'bad_request'],
        ['forged cursor', () => api.get('/api/tasks?cursor=not-a-cursor'), 400, 'bad_request'],
        ['repeated parameter', () => api.get('/api/tasks?status=todo&status=done'), 400, 'bad_request'],
        ['decimal with too many places', () => api.post('/api/items', { name: 'x', price: '1.234' }), 422, 'validation_failed'],
        ['decimal out of range', () => api.post('/api/items', { name: 'x', price: '123456789' }), 422, 'validation_failed'],
        [
          'someone else\u2019s org',
          () => api.post('/api/projects', { name: 'x', orgId: '0192f0b4-1c6a-7000-8000-0000000000aa' }),
          403,
          'forbidden',
        ],
      ]
      for (const [label, run, status, code] of cases) {
        const res = await run()
        try {
          expectError(res, status, code)
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`)
        }
      }
      // Every problem at once, each named.
      const many = await api.post('/api/tasks', { title: 5, priority: 'high', colour: 'red' })
      expect(many.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['colour', 'priority', 'title'])
      expect(await countTasks()).toBe(before)
      expect((await api.get('/api/v1/healthz')).status).toBe(200)
    })

    it('refuses text no database can store with 422, on every text kind, and writes nothing', async () => {
      const before = await countTasks()
      const created = await api.post('/api/tasks', { title: 'clean' })
      expect(created.status).toBe(201)
      const cases: [string, () => ReturnType<typeof api.post>, string][] = [
        ['NUL in a string', () => api.post('/api/tasks', { title: 'a\u0000b' }), 'title'],
        ['lone surrogate in a string', () => api.post('/api/tasks', { title: 'x\udc00' }), 'title'],
        ['lone surrogate in text', () => api.post('/api/tasks', { title: 'x', description: 'a\ud800b' }), 'description'],
        ['NUL in a set member', () => api.post('/api/tasks', { title: 'x', tags: ['ok', 'n\u0000'] }), 'tags'],
        ['lone surrogate in a set member', () => api.post('/api/tasks', { title: 'x', tags: ['\ud83d'] }), 'tags'],
        ['lone surrogate in a patch', () => api.patch(`/api/tasks/${created.json.id}`, { description: '\udbff' }), 'description'],
      ]
      for (const [label, call, field] of cases) {
        const res = await call()
        try {
          expectError(res, 422, 'validation_failed')
          expect(res.json.error.details).toEqual([expect.objectContaining({ field, code: 'invalid_character' })])
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`)
        }
      }
      expectError(await api.get('/api/tasks?title=a%00b'), 400, 'bad_request')
      expect(await countTasks()).toBe(before + 1)
      expect((await api.get(`/api/tasks/${created.json.id}`)).json.version).toBe(1)
    })

    it('refuses forged list cursors with 400, whatever their position holds', async () => {
      const cursor = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url')
      const id = '0192f0b4-1c6a-7000-8000-000000000001'
      for (const forged of [
        { o: 'createdAt', v: { a: 1 }, id },
        { o: 'createdAt', v: [1, 2], id },
        { o: 'createdAt', v: true, id },
        { o: 'createdAt', v: 'not a time', id },
        { o: 'createdAt', v: '2026-01-01T00:00:00.000Z', id: 'x\u0000' },
        { o: 'createdAt', v: '2026-01-01T00:00:00.000Z', id: 'not-a-uuid' },
        { o: 'priority', v: 'high', id },
        { o: 'title', v: 'a\u0000', id },
      ]) {
        const orderBy = forged.o === 'createdAt' ? '' : `&orderBy=${forged.o}`
        const res = await api.get(`/api/tasks?cursor=${cursor(forged)}${orderBy}`)
        expectError(res, 400, 'bad_request')
        expect(res.json.error.details?.[0]?.code, JSON.stringify(forged)).toBe('invalid_cursor')
      }
      // A cursor the server handed out still works, null positions included.
      const page = await api.get('/api/tasks?limit=1&orderBy=dueDate')
      expect(page.json.nextCursor).toEqual(expect.any(String))
      expect((await api.get(`/api/tasks?limit=1&orderBy=dueDate&cursor=${page.json.nextCursor}`)).status).toBe(200)
    })

    it('refuses prototype-polluting keys by name and place, not as malformed JSON', async () => {
      const top = await api.post('/api/tasks', '{"title":"x","__proto__":{"admin":true}}')
      expectError(top, 400, 'bad_request')
      expect(top.json.error.message).toMatch(/forbidden key "__proto__"/)
      expect(top.json.error.details).toEqual([expect.objectContaining({ field: '__proto__', code: 'forbidden_key' })])
      const deep = await api.post('/api/sync/push', '{"clientId":"d","mutations":[{"data":{"tags":[{"constructor":{"prototype":{}}}]}}]}')
      expectError(deep, 400, 'bad_request')
      expect(deep.json.error.message).toMatch(/"constructor.prototype" \(at mutations\[0\]\.data\.tags\[0\]\.constructor\.prototype\)/)
      const escaped = await api.post('/api/tasks', '{"title":"x","\\u005f_proto__":1}')
      expectError(escaped, 400, 'bad_request')
      // A key merely named constructor is a field name like any other (unknown here).
      expectError(await api.post('/api/tasks', '{"title":"x","constructor":1}'), 422, 'validation_failed')
    })

    it('answers every response with a request id, the caller\u2019s when well-formed', async () => {
      const mine = await api.get('/api/tasks', { 'x-request-id': 'abc-123' })
      expect(mine.headers.get('x-request-id')).toBe('abc-123')
      const hostile = await api.get('/api/tasks', { 'x-request-id': 'bad id with spaces\u00e9' })
      expect(hostile.headers.get('x-request-id')).toMatch(UUID)
      const missing = await api.get('/nowhere')
      expect(missing.headers.get('x-request-id')).toMatch(UUID)
      expectError(missing, 404, 'not_found')
    })

    it('answers liveness without the database, and readiness with a write probe', async () => {
      const live = await api.get('/api/v1/healthz')
      expect(live.status).toBe(200)
      expect(live.json).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) })
      const ready = await api.get('/api/v1/readyz')
      expect(ready.status).toBe(200)
      expect(ready.json).toMatchObject({ status: 'ready', database: { ok: true, kind: server.storage.kind }, lastWriteError: null })
    })

    it('serves OpenAPI at /api/schema and Swagger UI at /api/docs', async () => {
      const doc = await api.get('/api/schema')
      expect(doc.status).toBe(200)
      expect(doc.json.openapi).toBe('3.1.0')
      // Credentials are documented: a global requirement, lifted on the public routes.
      expect(Object.keys(doc.json.components.securitySchemes).sort()).toEqual(['apiToken', 'bearer'])
      expect(doc.json.security).toEqual([{ bearer: [] }, { apiToken: [] }])
      expect(doc.json.paths['/api/auth/login'].post.security).toEqual([])
      expect(doc.json.paths['/api/v1/healthz'].get.security).toEqual([])
      expect(Object.keys(doc.json.paths)).toEqual(
        expect.arrayContaining(['/api/tasks', '/api/tasks/{id}', '/api/tasks/{id}/history', '/api/items', '/api/v1/healthz']),
      )
      expect(doc.json.paths['/api/tasks'].post.requestBody.content['application/json'].schema.properties.status.enum).toEqual([
        'todo',
        'in_progress',
        'done',
      ])
      const ui = await fetch(`${server.url}/api/docs/`)
      expect(ui.status).toBe(200)
      expect(await ui.text()).toMatch(/swagger/i)
    })
  })
}
