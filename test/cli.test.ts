/** The `pulse` command as a person runs it: serve and migrate, and their failure messages. */
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePort, runPulse, startPulse, stop } from './support/cli.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'pulse-cli-'))

/** Creates an admin API token with the CLI and returns it. */
async function apiToken(db: string): Promise<string> {
  const created = await runPulse(['token', 'create', '--name', 'test', '--admin', '--database', db])
  expect(created.code, created.stderr).toBe(0)
  return created.stdout.trim().split('\n').at(-1) as string
}

describe('pulse serve', () => {
  it('serves the tasks example on SQLite with accounts, then stops on SIGTERM', async () => {
    const db = `sqlite:${join(tmp(), 'pulse.db')}`
    const admin = await runPulse(['createsuperuser', '--username', 'root', '--password', 'root password 1', '--no-input', '--database', db])
    expect(admin.code, admin.stderr).toBe(0)
    const token = await apiToken(db)
    const { child, url } = await startPulse(['--database', db], { PULSE_SECRET: 'a secret of at least thirty-two characters' })
    expect((await fetch(`${url}/api/items`)).status).toBe(401)
    const res = await fetch(`${url}/api/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: '{"name":"from the CLI","price":"1.50"}',
    })
    expect(res.status).toBe(201)
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"root","password":"root password 1"}',
    })
    expect(login.status).toBe(200)
    const { access } = (await login.json()) as { access: string }
    expect((await fetch(`${url}/api/users/me`, { headers: { authorization: `Bearer ${access}` } })).status).toBe(200)
    // A token revoked by the CLI (another process, no bus between them here) stops working
    // within a second: the server keeps a checked API token for 1 s at most (README).
    const id = (await runPulse(['token', 'list', '--database', db])).stdout.split(/\s+/)[0] as string
    expect((await runPulse(['token', 'revoke', id, '--database', db])).code).toBe(0)
    const revokedAt = Date.now()
    for (;;) {
      const status = (await fetch(`${url}/api/items`, { headers: { 'x-auth-token': token } })).status
      if (status === 401) break
      expect(status).toBe(200)
      expect(Date.now() - revokedAt).toBeLessThan(3000) // 1 s of cache, with room for a slow machine
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(await stop(child)).toBe(0)
  })

  it('refuses to start in production without PULSE_SECRET', async () => {
    const r = await runPulse(['serve', '--port', '0', '--database', `sqlite:${join(tmp(), 'x.db')}`], {
      NODE_ENV: 'production',
      PULSE_SECRET: '',
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/PULSE_SECRET is required in production/)
  })

  it('says so when the port is taken', async () => {
    const port = await freePort()
    const blocker = createServer().listen(port, '127.0.0.1')
    try {
      const r = await runPulse(['serve', '--port', String(port), '--database', `sqlite:${join(tmp(), 'x.db')}`])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/port is already in use/)
    } finally {
      blocker.close()
    }
  })

  it('says so when the database cannot be reached, without the password', async () => {
    const r = await runPulse(['serve', '--port', '0', '--database', 'postgres://postgres:hunter2@127.0.0.1:1/nowhere'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/cannot reach the database/)
    expect(r.stderr).not.toMatch(/hunter2/)
  })

  it('says so when the configuration is missing or unusable', async () => {
    const missing = await runPulse(['serve', '--config', 'no/such/pulse.config.ts'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/config file not found/)
    const broken = await runPulse(['serve', '--config', 'test/fixtures/broken.config.ts', '--database', `sqlite:${join(tmp(), 'x.db')}`])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/"version" is a reserved name/)
    const badPort = await runPulse(['serve', '--port', 'eighty'])
    expect(badPort.code).not.toBe(0)
    expect(badPort.stderr).toMatch(/port/)
  })
})

describe('pulse migrate', () => {
  it('applies additive changes, refuses destructive ones until --allow-data-loss', async () => {
    const db = `sqlite:${join(tmp(), 'm.db')}`
    const v1 = await runPulse(['migrate', '--database', db, '--config', 'test/fixtures/notes-v1.config.ts'])
    expect(v1.code).toBe(0)
    expect(v1.stdout).toMatch(/applied: .*note/)
    expect((await runPulse(['migrate', '--database', db, '--config', 'test/fixtures/notes-v1.config.ts'])).stdout).toMatch(/up to date/)

    // A note with a body, to see what is kept and what is lost.
    const token = await apiToken(db)
    const { child, url } = await startPulse(['--database', db, '--config', 'test/fixtures/notes-v1.config.ts'])
    const created = (await (
      await fetch(`${url}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: '{"title":"keep me","body":"lose me"}',
      })
    ).json()) as { id: string }
    await stop(child)

    const dry = await runPulse(['migrate', '--database', db, '--config', 'test/fixtures/notes-v2-additive.config.ts', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/would apply: .*pinned/)
    const v2 = await runPulse(['migrate', '--database', db, '--config', 'test/fixtures/notes-v2-additive.config.ts'])
    expect(v2.code).toBe(0)
    expect(v2.stdout).toMatch(/applied: .*pinned/)
    expect(v2.stdout).toMatch(/applied: .*label/)

    const refused = await runPulse(['migrate', '--database', db, '--config', 'test/fixtures/notes-v3-destructive.config.ts'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/body/)
    expect(refused.stderr).toMatch(/--allow-data-loss/)
    // serve refuses too, with the same message, and changes nothing.
    const serveRefused = await runPulse([
      'serve',
      '--port',
      '0',
      '--database',
      db,
      '--config',
      'test/fixtures/notes-v3-destructive.config.ts',
    ])
    expect(serveRefused.code).toBe(1)
    expect(serveRefused.stderr).toMatch(/--allow-data-loss/)

    const forced = await runPulse([
      'migrate',
      '--database',
      db,
      '--config',
      'test/fixtures/notes-v3-destructive.config.ts',
      '--allow-data-loss',
    ])
    expect(forced.code).toBe(0)
    expect(forced.stdout).toMatch(/loses data/)

    const after = await startPulse(['--database', db, '--config', 'test/fixtures/notes-v3-destructive.config.ts'])
    const note = (await (await fetch(`${after.url}/api/notes/${created.id}`, { headers: { 'x-auth-token': token } })).json()) as Record<
      string,
      unknown
    >
    expect(note).toMatchObject({ title: 'keep me', pinned: false })
    expect(note.body).toBeUndefined()
    await stop(after.child)
  })
})
