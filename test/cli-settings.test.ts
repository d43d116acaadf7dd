/**
 * Server settings beside the models: `server` in pulse.config.ts, overridden by environment
 * variables, overridden by flags; every bad value reported at start-up, before anything opens;
 * `serve --help` lists them all.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { SETTINGS } from '@pulse/server'
import { describe, expect, it } from 'vitest'
import { appDir, runPulse, startPulse, stop } from './support/cli.ts'

const SECRET = { PULSE_SECRET: 'a secret of at least thirty-two characters' }
/** Tests that start `pulse` several times: a busy machine makes each start take seconds. */
const SLOW_MS = 120_000

const CONFIG = (server: string) => `import { defineModel, f } from '@pulse/core'
import { defineConfig } from '@pulse/server'
export default defineConfig({ models: [defineModel('thing', { fields: { name: f.string() } })], server: ${server} })
`

/** The lifetime (s) of an access token the server at `url` issues. */
async function accessTtl(url: string): Promise<number> {
  const body = JSON.stringify({ username: `u${Math.random().toString(36).slice(2, 10)}`, password: 'correct horse battery staple' })
  const headers = { 'content-type': 'application/json' }
  expect((await fetch(`${url}/api/auth/register`, { method: 'POST', headers, body })).status).toBe(201)
  const { access } = (await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers, body })).json()) as { access: string }
  const claims = JSON.parse(Buffer.from(access.split('.')[1] as string, 'base64url').toString()) as { exp: number; iat: number }
  return claims.exp - claims.iat
}

describe('pulse serve settings', { timeout: SLOW_MS }, () => {
  it('come from the config, else the environment overrides, else a flag overrides both', async () => {
    const dir = appDir({ 'pulse.config.ts': CONFIG('{ auth: { accessTtlSeconds: 600 } }') })
    const cases: [string[], Record<string, string>, number][] = [
      [[], {}, 600],
      [[], { PULSE_ACCESS_TTL_SECONDS: '300' }, 300],
      [['--access-ttl-seconds', '120'], { PULSE_ACCESS_TTL_SECONDS: '300' }, 120],
    ]
    for (const [flags, env, ttl] of cases) {
      const { child, url } = await startPulse(flags, { ...SECRET, ...env }, dir)
      try {
        expect(await accessTtl(url), `${flags.join(' ')} ${JSON.stringify(env)}`).toBe(ttl)
      } finally {
        await stop(child)
      }
    }
  })

  it('a boolean: registration off in the config, back on with --registration', async () => {
    const dir = appDir({ 'pulse.config.ts': CONFIG('{ auth: { allowRegistration: false } }') })
    const body = JSON.stringify({ username: 'someone', password: 'correct horse battery staple' })
    const register = (url: string) =>
      fetch(`${url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const closed = await startPulse([], SECRET, dir)
    expect((await register(closed.url)).status).toBe(403)
    await stop(closed.child)
    const open = await startPulse(['--registration'], SECRET, dir)
    expect((await register(open.url)).status).toBe(201)
    await stop(open.child)
  })

  it('every bad value is reported, each naming the setting and where it was set, and nothing starts', async () => {
    const dir = appDir({ 'pulse.config.ts': CONFIG("{ port: 'eighty', auth: { accessTTL: 60 }, realtime: { rateLimit: 5 } }") })
    const r = await runPulse(['serve', '--ws-rate-burst', '0', '--log-format', 'xml'], { PULSE_ACCESS_TTL_SECONDS: 'soon' }, 60_000, dir)
    expect(r.code).toBe(1)
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '))
    expect(problems).toEqual([
      expect.stringMatching(
        /^ {2}- server\.auth\.accessTTL in the config: no such setting \(known under server\.auth: secret, .*accessTtlSeconds/,
      ),
      expect.stringMatching(/^ {2}- server\.realtime\.rateLimit in the config: expected an object of settings$/),
      '  - port (the config): expected a whole number from 0 to 65535, got "eighty"',
      '  - logger.format (flag --log-format): expected one of auto, pretty, json, got "xml"',
      expect.stringMatching(
        /^ {2}- auth\.accessTtlSeconds \(environment PULSE_ACCESS_TTL_SECONDS\): expected a whole number from 60 to 86400, got "soon"$/,
      ),
      expect.stringMatching(
        /^ {2}- realtime\.rateLimit\.burst \(flag --ws-rate-burst\): expected a whole number from 1 to [\d]+, got "0"$/,
      ),
    ])
    expect(existsSync(join(dir, 'pulse.db'))).toBe(false)
  })

  it("migrate and the account commands use the config's database, as serve does", async () => {
    const dir = appDir({ 'pulse.config.ts': CONFIG("{ database: 'sqlite:./data/app.db' }") })
    mkdirSync(join(dir, 'data'))
    const migrated = await runPulse(['migrate'], {}, 60_000, dir)
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.stdout).toMatch(/applied: .*thing/)
    const admin = await runPulse(['createsuperuser', '--username', 'root', '--password', 'root password 1', '--no-input'], {}, 60_000, dir)
    expect(admin.code, admin.stderr).toBe(0)
    const { child, url } = await startPulse([], SECRET, dir)
    try {
      const login = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"username":"root","password":"root password 1"}',
      })
      expect(login.status).toBe(200)
    } finally {
      await stop(child)
    }
    expect(existsSync(join(dir, 'data', 'app.db'))).toBe(true)
    expect(existsSync(join(dir, 'pulse.db'))).toBe(false)
  })

  it('serve --help lists every setting with a flag, with its environment variable and default, and promises only what exists', async () => {
    const r = await runPulse(['serve', '--help'])
    expect(r.code).toBe(0)
    const help = r.stdout.replace(/\s+/g, ' ')
    for (const [name, spec] of Object.entries(SETTINGS)) {
      const flag: string | undefined = spec.flag
      if (!flag) continue
      expect(help, name).toContain(flag)
      if ('env' in spec) expect(help, name).toContain(`env ${spec.env}`)
    }
    expect(help).not.toMatch(/graphql/i)
    expect(help).toMatch(/pulse\.config\.ts/)
  })
})
