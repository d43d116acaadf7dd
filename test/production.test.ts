/**
 * Production defaults (issue 8, finding 11): a weak secret is refused, sign-up is closed unless
 * opened, neither the demo pages (which sign up a `demo` user with a published password) nor
 * the API docs are served, the examples' global models are written by admins only; and in
 * every mode, passwords follow the policy and a new SQLite database file is private (0600).
 */
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineSchema } from '@pulse/core'
import { createSqliteStorage, type RunningServer, SecretError, startServer, weakSecretReason } from '@pulse/server'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import config from '../examples/tasks/pulse.config.ts'
import { signIn } from './support/accounts.ts'
import { httpClient, startTestServer } from './support/server.ts'

const schema = defineSchema(config.models)
const dir = () => mkdtempSync(join(tmpdir(), 'pulse-production-'))
const STRONG = 'k3Jv9QzP2mXw7tLr5YbN8cHd4FgS6aUe1TqWo0iRpZy'

describe('production', () => {
  const servers: RunningServer[] = []
  const start = async (auth: Record<string, unknown> = {}) => {
    const server = await startServer({
      schema,
      database: join(dir(), 'pulse.db'),
      port: 0,
      logger: false,
      auth: { production: true, secret: STRONG, ...auth },
    })
    servers.push(server)
    return server
  }
  afterAll(async () => {
    for (const s of servers) await s.close()
  })

  it('refuses a weak secret', async () => {
    for (const weak of [
      'a'.repeat(32),
      'ab'.repeat(24),
      '0123456701234567012345670123456701234567',
      'abcdefghijklmnopqrstuvwxyz0123456789',
    ])
      await expect(start({ secret: weak })).rejects.toThrow(SecretError)
    await expect(start({ secret: undefined })).rejects.toThrow(/PULSE_SECRET is required/)
    expect(weakSecretReason('a'.repeat(32))).toMatch(/distinct/)
    expect(weakSecretReason(STRONG)).toBeUndefined()
    // A random hex secret of 128 bits passes.
    expect(weakSecretReason('9f86d081884c7d659a2feaa0c55ad015')).toBeUndefined()
  })

  it('closes sign-up unless it is opened, and serves neither the demo pages nor the docs', async () => {
    const server = await start()
    const http = httpClient(server.url)
    const signUp = await http.post('/api/auth/register', { username: 'walk-in', password: 'a fine long password' })
    expect(signUp.status).toBe(403)
    for (const path of ['/demo/window1', '/demo', '/api/docs', '/api/schema']) {
      const res = await http.get(path)
      expect(res.status, path).toBe(404)
      expect(res.json?.error?.code, path).toBe('not_found')
    }
    const open = await start({ allowRegistration: true })
    expect((await httpClient(open.url).post('/api/auth/register', { username: 'invited', password: 'a fine long password' })).status).toBe(
      201,
    )
  })

  it('lets only admins write the examples\u2019 global models', async () => {
    const previous = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    try {
      const server = await start({ allowRegistration: true })
      const user = await signIn(server.url, 'signed-up')
      const refused = await user.api.post('/api/items', { name: 'free lunch', price: '0.00' })
      expect(refused.status).toBe(403)
      expect((await user.api.post('/api/persons', { firstName: 'Eve' })).status).toBe(403)
      const accounts = server.accounts as NonNullable<RunningServer['accounts']>
      await accounts.createUser({ username: 'boss', password: 'a fine long password', admin: true })
      const login = await httpClient(server.url).post('/api/auth/login', { username: 'boss', password: 'a fine long password' })
      const admin = httpClient(server.url, { authorization: `Bearer ${login.json.access}` })
      const made = await admin.post('/api/items', { name: 'catalogue', price: '1.00' })
      expect(made.status).toBe(201)
      expect((await user.api.get(`/api/items/${made.json.id}`)).status).toBe(200)
    } finally {
      process.env.NODE_ENV = previous
    }
  })
})

describe('in every mode', () => {
  let server: RunningServer
  afterEach(async () => {
    await server?.close()
  })

  it('applies the password policy: length, not only whitespace, not the username, not a common password', async () => {
    server = await startTestServer(schema, await createSqliteStorage({ filename: join(dir(), 'pulse.db') }), { auth: true })
    const http = httpClient(server.url)
    const refused = ['12345678', '        ', 'PASSWORD1', 'qwertyuiop', 'policy-user', 'Policy-User', 'short']
    for (const password of refused) {
      const res = await http.post('/api/auth/register', { username: 'policy-user', password })
      expect(res.status, password).toBe(422)
      expect(res.json.error.details[0].field).toBe('password')
    }
    expect((await http.post('/api/auth/register', { username: 'policy-user', password: 'correct horse battery staple' })).status).toBe(201)
  })

  it('creates a new SQLite database readable by its owner only', async () => {
    const file = join(dir(), 'private.db')
    const storage = await createSqliteStorage({ filename: file })
    try {
      expect(statSync(file).mode & 0o777).toBe(0o600)
    } finally {
      await storage.close()
    }
  })
})
