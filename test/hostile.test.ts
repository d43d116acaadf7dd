/**
 * A corpus of hostile input against a real server with accounts: malformed and oversized JSON,
 * deep nesting, wrong types, huge arrays, unicode edge cases, prototype-pollution keys,
 * SQL-looking values and field names, forged / expired / `alg: none` / wrong-key JWTs, replayed
 * refresh tokens. Every case must be answered 4xx with a §7 body; the server must stay healthy;
 * nothing may be written. The counts are printed.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema, uuidv7 } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { httpClient, startTestServer, TEST_SECRET } from './support/server.ts'

interface Case {
  label: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  body?: string
  headers?: Record<string, string>
  /** Acceptable statuses (all 4xx). */
  expect: number[]
}

const json = (v: unknown) => JSON.stringify(v)

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth)
}

/** Builds the corpus against one existing task id. */
function corpus(taskId: string, tokens: { forged: string[]; refreshUsed: string }): Case[] {
  const cases: Case[] = []
  const post = (label: string, body: string, expectStatus: number[] = [400, 422], path = '/api/tasks', headers?: Record<string, string>) =>
    cases.push({ label, method: 'POST', path, body, expect: expectStatus, ...(headers ? { headers } : {}) })
  const patch = (label: string, body: string, expectStatus: number[] = [400, 422]) =>
    cases.push({ label, method: 'PATCH', path: `/api/tasks/${taskId}`, body, expect: expectStatus })

  // Malformed JSON.
  for (const body of [
    '{',
    '}',
    '{"title":',
    '{"title":"x",}',
    "{'title':'x'}",
    '{"title":"x"}}',
    'null',
    'true',
    '42',
    '"str"',
    '[]',
    '[{"title":"x"}]',
    '{"title":"\\u00"}',
    '{"title":"x"',
    'NaN',
    '{"title":Infinity}',
    '{"a":1,"a":2,"title":"x","priority":"1"}',
    '\u0000',
    '{"title":"x"}\u0000',
    ' ',
    '\ufeff{"title":"x","priority":-1}',
  ]) {
    post(`malformed JSON ${json(body).slice(0, 30)}`, body)
  }
  // Deep nesting.
  for (const depth of [100, 1000, 10_000, 100_000]) {
    post(
      `nested arrays ${depth}`,
      json({ title: 'x', tags: 'placeholder' }).replace('"placeholder"', nested(depth, '[', ']')),
      [400, 413, 422],
    )
    post(`nested objects ${depth}`, `{"title":"x","extra":${nested(depth, '{"a":', '}')}}`, [400, 413, 422])
  }
  // Oversized.
  post('10 MB string', json({ title: 'x', description: 'y'.repeat(10 * 1024 * 1024) }), [413])
  post('2 MB of keys', json(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))), [413, 422])
  post('huge tags array', json({ title: 'x', tags: Array.from({ length: 20_000 }, (_, i) => `t${i}`) }), [413, 422])
  post('long tag', json({ title: 'x', tags: ['x'.repeat(5000)] }))
  // Wrong types, per field.
  const wrong: [string, unknown[]][] = [
    ['title', [null, 5, true, [], {}, 'x'.repeat(201)]],
    ['priority', ['1', 1.5, -1, 6, null, true, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, [], {}]],
    ['status', ['blocked', '', null, 1, ['todo'], 'TODO', 'todo ']],
    ['tags', ['a', [1], [null], [['a']], {}, null]],
    ['dueDate', ['2026-02-30', '2026-13-01', '26-1-1', 'tomorrow', 20261224, '2026-12-24T00:00:00Z', '']],
    ['completed', ['true', 1, 0, 'yes', []]],
    ['projectId', ['not-a-uuid', 123, '00000000-0000-0000-0000-00000000000g', "' OR 1=1 --"]],
    ['description', [1, [], {}, true]],
  ]
  for (const [field, values] of wrong) {
    for (const value of values) {
      post(`create with ${field}=${json(value)?.slice(0, 20)}`, json({ title: 'x', [field]: value }))
      patch(`patch ${field}=${json(value)?.slice(0, 20)}`, json({ [field]: value }))
    }
  }
  // Unicode edge cases that must be refused: NUL, lone surrogates in over-long strings.
  post('NUL in title', json({ title: 'a\u0000b' }))
  post('NUL in a json-ish key', '{"title":"x","ti\\u0000tle":"y"}')
  post('title of 201 emoji', json({ title: '😀'.repeat(201) }))
  // Text no database can store: NUL and lone UTF-16 halves, in every kind of text field.
  for (const [field, value] of [
    ['title', 'x\ud800'],
    ['title', '\udc00'],
    ['description', 'a\ud83db'],
    ['description', 'a\u0000b'],
    ['tags', ['ok', 'n\u0000']],
    ['tags', ['\udbff']],
  ] as const) {
    post(`${field} ${json(value)}`, json({ title: 'x', [field]: value }), [422])
    patch(`patch ${field} ${json(value)}`, json({ [field]: value }), [422])
  }
  // Forged list cursors: a position that is not a value of the ordered field, or not an id.
  const listCursor = (v: unknown, id = '0192f0b4-1c6a-7000-8000-000000000001', o = 'createdAt') =>
    Buffer.from(JSON.stringify({ o, v, id })).toString('base64url')
  for (const [label, c] of [
    ['object', listCursor({ a: 1 })],
    ['array', listCursor([1])],
    ['boolean', listCursor(false)],
    ['number', listCursor(12)],
    ['NUL id', listCursor('2026-01-01T00:00:00.000Z', '\u0000')],
    ['object id', listCursor('2026-01-01T00:00:00.000Z', { a: 1 } as unknown as string)],
  ] as const) {
    cases.push({ label: `list cursor ${label}`, method: 'GET', path: `/api/tasks?cursor=${c}`, expect: [400] })
  }
  post('title of 201 combining marks', json({ title: `a${'\u0301'.repeat(200)}` }))
  // Prototype pollution.
  for (const body of [
    '{"title":"x","__proto__":{"isAdmin":true}}',
    '{"title":"x","constructor":{"prototype":{"isAdmin":true}}}',
    '{"title":"x","prototype":{"a":1}}',
    '{"title":"x","tags":["a"],"__proto__":null}',
  ]) {
    post(`pollution ${body.slice(10, 40)}`, body, [400, 422])
    patch(`pollution patch ${body.slice(10, 40)}`, body, [400, 422])
  }
  // SQL-looking field names and filters.
  for (const name of [
    'title; DROP TABLE task;--',
    '"title"',
    'title"--',
    'id',
    'version',
    'deletedAt',
    '__proto__',
    'a b',
    "Robert'); DROP TABLE task;--",
  ]) {
    post(`field named ${name}`, json({ title: 'x', [name]: 1 }))
    cases.push({ label: `filter named ${name}`, method: 'GET', path: `/api/tasks?${encodeURIComponent(name)}=1`, expect: [400] })
    cases.push({ label: `orderBy ${name}`, method: 'GET', path: `/api/tasks?orderBy=${encodeURIComponent(name)}`, expect: [400] })
  }
  // Paths and ids.
  for (const id of ['1', "1' OR '1'='1", '..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(300), '00000000-0000-0000-0000-000000000000x']) {
    cases.push({ label: `get id ${id.slice(0, 20)}`, method: 'GET', path: `/api/tasks/${id}`, expect: [400, 404] })
    cases.push({ label: `delete id ${id.slice(0, 20)}`, method: 'DELETE', path: `/api/tasks/${id}`, expect: [400, 404] })
  }
  // Headers.
  for (const ifMatch of ['abc', '"1"x', '-1', '1, 2', '99999999999999999999']) {
    cases.push({
      label: `If-Match ${ifMatch}`,
      method: 'PATCH',
      path: `/api/tasks/${taskId}`,
      body: json({ title: 'y' }),
      headers: { 'if-match': ifMatch },
      expect: [400, 409],
    })
  }
  post('form body', 'title=x', [415], '/api/tasks', { 'content-type': 'application/x-www-form-urlencoded' })
  post('text body', '{"title":"x"}', [415], '/api/tasks', { 'content-type': 'text/plain' })
  // Push.
  const m = (over: Record<string, unknown>) => ({
    mid: 1,
    model: 'task',
    op: 'create',
    id: uuidv7(),
    vclock: { d: 1 },
    at: new Date().toISOString(),
    data: { title: 'x' },
    ...over,
  })
  for (const [label, body] of [
    ['push not an object', '[]'],
    ['push no clientId', json({ mutations: [] })],
    ['push clientId too long', json({ clientId: 'x'.repeat(200), mutations: [] })],
    ['push mutations not array', json({ clientId: 'd', mutations: {} })],
    ['push mid string', json({ clientId: 'd', mutations: [m({ mid: '1' })] })],
    ['push mid zero', json({ clientId: 'd', mutations: [m({ mid: 0 })] })],
    ['push op drop', json({ clientId: 'd', mutations: [m({ op: 'drop' })] })],
    ['push id not uuid', json({ clientId: 'd', mutations: [m({ id: "'; DROP TABLE task;--" })] })],
    ['push vclock array', json({ clientId: 'd', mutations: [m({ vclock: [1] })] })],
    ['push vclock negative', json({ clientId: 'd', mutations: [m({ vclock: { d: -1 } })] })],
    [
      'push vclock __proto__',
      '{"clientId":"d","mutations":[{"mid":1,"model":"task","op":"create","id":"0192f0b4-1c6a-7000-8000-000000000001","vclock":{"__proto__":{"x":1}},"at":"2026-11-23T10:00:00Z","data":{}}]}',
    ],
    ['push at garbage', json({ clientId: 'd', mutations: [m({ at: 'soon' })] })],
    ['push mids decreasing', json({ clientId: 'd', mutations: [m({ mid: 2 }), m({ mid: 1 })] })],
    ['push 1001 mutations', json({ clientId: 'd', mutations: Array.from({ length: 1001 }, (_, i) => m({ mid: i + 1 })) })],
  ] as const) {
    post(label, body, [400, 403, 413], '/api/sync/push')
  }
  // Pull.
  for (const q of [
    'cursor=c1.-1',
    'cursor=%00',
    'cursor=c9.1',
    'limit=-1',
    'limit=1e3',
    'models=task,,',
    'models=nope',
    'cursor=c1.1&cursor=c1.2',
  ]) {
    cases.push({ label: `pull ${q}`, method: 'GET', path: `/api/sync/pull?${q}`, expect: [400, 404] })
  }
  // Well-formed cursors past the head: 410, so a client kept across a restore starts afresh (§2).
  for (const q of ['cursor=c1.zzzzzzzz', 'cursor=c1.zzzzzzzz.1']) {
    cases.push({ label: `pull ${q}`, method: 'GET', path: `/api/sync/pull?${q}`, expect: [410] })
  }
  // Credentials.
  for (const token of tokens.forged) {
    cases.push({
      label: `forged token ${token.slice(0, 16)}`,
      method: 'GET',
      path: '/api/tasks',
      headers: { authorization: `Bearer ${token}` },
      expect: [401],
    })
  }
  for (const header of ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a b', `Bearer ${'x'.repeat(5000)}`, 'bearer']) {
    cases.push({
      label: `authorization ${header.slice(0, 16)}`,
      method: 'GET',
      path: '/api/tasks',
      headers: { authorization: header },
      expect: [401],
    })
  }
  cases.push({ label: 'unknown API token', method: 'GET', path: '/api/tasks', headers: { 'x-auth-token': 'pat_nope' }, expect: [401] })
  cases.push({
    label: 'replayed refresh token',
    method: 'POST',
    path: '/api/auth/refresh',
    body: json({ refresh: tokens.refreshUsed }),
    headers: { authorization: '' },
    expect: [401],
  })
  cases.push({
    label: 'refresh not a string',
    method: 'POST',
    path: '/api/auth/refresh',
    body: json({ refresh: { $ne: null } }),
    headers: { authorization: '' },
    expect: [401],
  })
  cases.push({
    label: 'login injection',
    method: 'POST',
    path: '/api/auth/login',
    body: json({ username: "admin' --", password: "' OR '1'='1" }),
    headers: { authorization: '' },
    expect: [401, 422],
  })
  cases.push({
    label: 'login object password',
    method: 'POST',
    path: '/api/auth/login',
    body: json({ username: 'alice', password: { $gt: '' } }),
    headers: { authorization: '' },
    expect: [401],
  })
  cases.push({
    label: 'register short password',
    method: 'POST',
    path: '/api/auth/register',
    body: json({ username: 'mallory', password: 'short' }),
    headers: { authorization: '' },
    expect: [422],
  })
  cases.push({
    label: 'register huge password',
    method: 'POST',
    path: '/api/auth/register',
    body: json({ username: 'mallory', password: 'p'.repeat(100_000) }),
    headers: { authorization: '' },
    expect: [422],
  })
  cases.push({
    label: 'register bad username',
    method: 'POST',
    path: '/api/auth/register',
    body: json({ username: '<script>', password: 'long enough password' }),
    headers: { authorization: '' },
    expect: [422],
  })
  return cases
}

describe('hostile input', () => {
  let server: RunningServer
  let alice: SignedIn
  let taskId: string

  beforeAll(async () => {
    const storage = await createSqliteStorage({ filename: join(mkdtempSync(join(tmpdir(), 'pulse-hostile-')), 'pulse.db') })
    server = await startTestServer(defineSchema(config.models), storage, { auth: true })
    alice = await signIn(server.url, 'alice')
    await makeOrg(alice, 'Alice Inc')
    alice = await signIn(server.url, 'alice')
    const created = await alice.api.post('/api/tasks', { title: 'the only task' })
    expect(created.status).toBe(201)
    taskId = created.json.id
  })
  afterAll(async () => {
    await server?.close()
  })

  it('answers every case 4xx with a §7 body, writes nothing, and stays healthy', async () => {
    const key = new TextEncoder().encode('a different key that is long enough to be used here')
    const now = Math.floor(Date.now() / 1000)
    const header = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const [, payload] = alice.access.split('.')
    // A JWT with the given claims, signed with `signingKey` (iss/aud default to the server's).
    const sign = (signingKey: Uint8Array, claims: { sub?: string; iss?: string; iat?: number; exp?: number }) => {
      let jwt = new SignJWT({ did: alice.deviceId })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(claims.sub ?? alice.userId)
        .setIssuer(claims.iss ?? 'pulse')
        .setAudience('pulse-api')
      if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat)
      if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp)
      return jwt.sign(signingKey)
    }
    const real = new TextEncoder().encode(TEST_SECRET)
    const forged = [
      `${header({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${header({ alg: 'HS512', typ: 'JWT' })}.${payload}.${'x'.repeat(43)}`,
      await sign(key, { exp: now + 600 }), // the wrong key
      `${alice.access.slice(0, -4)}AAAA`,
      `${alice.access.split('.')[0]}.${header({ sub: alice.userId, did: alice.deviceId, iss: 'pulse', aud: 'pulse-api', exp: now + 9999, adm: true })}.${alice.access.split('.')[2]}`,
      'not.a.jwt',
      'a.b.c',
      // Signed with the server's real key: expired, without expiry, another issuer, no such user.
      await sign(real, { iat: now - 3600, exp: now - 60 }),
      await sign(real, {}),
      await sign(real, { iss: 'evil', exp: now + 600 }),
      await sign(real, { sub: uuidv7(), exp: now + 600 }),
    ]
    const used = await signIn(server.url, 'alice', 'replay device')
    const rotated = await httpClient(server.url).post('/api/auth/refresh', { refresh: used.refresh })
    expect(rotated.status).toBe(200)
    const cases = corpus(taskId, { forged, refreshUsed: used.refresh })
    expect(cases.length).toBeGreaterThanOrEqual(200)

    const before = await alice.api.get('/api/tasks?limit=1000')
    const history = await alice.api.get(`/api/tasks/${taskId}/history`)
    const counts = new Map<number, number>()
    for (const c of cases) {
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${alice.access}`, ...c.headers }
      if (headers.authorization === '') delete headers.authorization
      const init: RequestInit = { method: c.method, headers, ...(c.body !== undefined ? { body: c.body } : {}) }
      // Paced under the per-token rate limit (200 requests/s), which is tested on its own.
      await new Promise((r) => setTimeout(r, 6))
      const res = await fetch(`${server.url}${c.path}`, init)
      const text = await res.text()
      counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
      expect(c.expect, `${c.label}: answered ${res.status} ${text.slice(0, 200)}`).toContain(res.status)
      const body = JSON.parse(text)
      expect(body.error?.code, c.label).toEqual(expect.any(String))
      expect(body.requestId, c.label).toBe(res.headers.get('x-request-id'))
      expect(text, c.label).not.toMatch(/\bat .*\.ts:\d+|SELECT |INSERT |SQLITE_|syntax error/)
    }
    console.log(
      `hostile corpus: ${cases.length} cases, statuses ${[...counts]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(', ')}; 0 crashes, 0 writes`,
    )
    expect((await alice.api.get('/api/v1/healthz')).status).toBe(200)
    expect((await alice.api.get('/api/tasks?limit=1000')).json).toEqual(before.json)
    expect((await alice.api.get(`/api/tasks/${taskId}/history`)).json).toEqual(history.json)
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  }, 120_000)
})
