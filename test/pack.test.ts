/**
 * Pulse as a library: every package packed with `npm pack` and installed from the tarballs into
 * a fresh project outside the repository (from npm's local cache: `--prefer-offline`), then used
 * there as a user would: every export loads on plain Node as built JavaScript with declarations;
 * `npx pulse serve` finds the app's own pulse.config.ts, with and without `"type": "module"`; a
 * Node script syncs through @pulse/client; `tsc --noEmit` type-checks an app using the API.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './support/cli.ts'
import { expectSuccess, outsideEnv, PACKAGES, packAll, run, waitHealthy, writeAppPackage } from './support/pack.ts'

/** Installing compiles better-sqlite3 from source: minutes on a busy machine. */
const INSTALL_TIMEOUT_MS = 15 * 60_000
const STEP_TIMEOUT_MS = 3 * 60_000
const SECRET = 'a pack test secret of at least thirty-two characters'

/** The app's models, imported by its config from a TypeScript file of its own (no extension). */
const MODELS_TS = `import { defineModel, f } from '@pulse/core'

export const note = defineModel('note', {
  fields: { title: f.string({ max: 200 }), done: f.boolean({ default: false }), ownerId: f.owner() },
})
`
/** Models and a setting beside them: the access token lifetime. */
const CONFIG_TS = `import { defineConfig } from '@pulse/server'
import { note } from './models'

export { note }
export default defineConfig({ models: [note], server: { auth: { accessTtlSeconds: 600 } } })
`

/** Two devices of one user: A creates a note and syncs, B syncs and must see it. Prints what happened. */
const SYNC_SCRIPT = `import { createClient, createMemoryStore } from '@pulse/client'
import { defineModel, f } from '@pulse/core'

const note = defineModel('note', {
  fields: { title: f.string({ max: 200 }), done: f.boolean({ default: false }), ownerId: f.owner() },
})
const url = process.argv[2]
const password = 'correct horse battery staple'
async function post(path, body) {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(path + ': ' + res.status + ' ' + (await res.text()))
  return res.json()
}
await post('/api/auth/register', { username: 'packer', password })
const logins = [await post('/api/auth/login', { username: 'packer', password, deviceName: 'a' }),
  await post('/api/auth/login', { username: 'packer', password, deviceName: 'b' })]
const [a, b] = logins.map((login) =>
  createClient({ url, models: [note], store: createMemoryStore(), clientId: login.device.id, auth: () => ({ token: login.access }) }),
)
const created = await a.create(note, { title: 'from an installed client' })
await a.sync()
await b.sync()
const seen = await b.query(note)
const token = JSON.parse(Buffer.from(logins[0].access.split('.')[1], 'base64url').toString())
console.log(JSON.stringify({ created: created.id, seen: seen.map((r) => ({ id: r.id, title: r.title })), pending: a.status().pending, ttl: token.exp - token.iat }))
await a.close()
await b.close()
`

/** An app using the public API of every package; the expect-errors prove the types are real, not any. */
const APP_TS = `import { createClient, createMemoryStore, type Client } from '@pulse/client'
import { createSqliteStore } from '@pulse/client/sqlite'
import { defineModel, defineSchema, f, type RecordOf } from '@pulse/core'
import { useQuery } from '@pulse/react'
import { defineConfig, type RunningServer, type ServerSettings, startServer } from '@pulse/server'

export const task = defineModel('task', {
  fields: { title: f.string({ max: 200 }), priority: f.integer({ min: 0, max: 5, default: 0, merge: 'max' }) },
})
export type Task = RecordOf<typeof task>

const settings: ServerSettings = { port: 8000, auth: { accessTtlSeconds: 600 }, realtime: { rateLimit: { perSecond: 50 } } }
export default defineConfig({ models: [task], server: settings })

// @ts-expect-error: a port is a number
defineConfig({ models: [task], server: { port: 'eighty' } })
// @ts-expect-error: no such setting
defineConfig({ models: [task], server: { auth: { accessTTL: 5 } } })

export async function serve(): Promise<RunningServer> {
  return startServer({ schema: defineSchema([task]), database: 'sqlite:./app.db', port: 0, shutdownTimeoutMs: 5_000 })
}

export async function write(): Promise<string> {
  const client: Client = createClient({ url: 'http://localhost:8000', models: [task], store: createMemoryStore() })
  const created = await client.create(task, { title: 'typed' })
  const title: string = created.title
  // @ts-expect-error: title is a string
  await client.create(task, { title: 42 })
  await client.close()
  return title
}

export const fileStore = () => createSqliteStore('app.db')
export function useOpenTasks() {
  return useQuery(task, { where: { priority: { gt: 2 } } })
}
`

describe('Pulse installed from its npm tarballs', () => {
  let work: string
  let app: string
  let tarballs: Record<string, string>

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pulse-pack-'))
    app = join(work, 'app')
    mkdirSync(app)
    tarballs = await packAll(work)
    writeAppPackage(app, tarballs, 'commonjs')
    expectSuccess('npm install', await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app, INSTALL_TIMEOUT_MS))
  }, INSTALL_TIMEOUT_MS)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('every export resolves, for Node and for TypeScript, to built JavaScript and declarations, and loads on plain Node', async () => {
    const specifiers: string[] = []
    for (const name of PACKAGES) {
      const dir = join(app, 'node_modules', '@pulse', name)
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        exports: Record<string, string | Record<string, string>>
      }
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (typeof target === 'string') continue // ./package.json
        specifiers.push(`@pulse/${name}${subpath.slice(1)}`)
        // Only the repository's own development condition may name a source file.
        for (const [condition, file] of Object.entries(target)) {
          if (condition === '@pulse/source') continue
          expect(file, `@pulse/${name} ${subpath} "${condition}"`).toMatch(condition === 'types' ? /\.d\.ts$/ : /\.js$/)
          expect(file, `@pulse/${name} ${subpath} "${condition}"`).not.toMatch(/(?<!\.d)\.[cm]?tsx?$/)
          expect(existsSync(join(dir, file)), `@pulse/${name} ${subpath} "${condition}": ${file} is in the tarball`).toBe(true)
        }
      }
    }
    expect(specifiers.length).toBeGreaterThanOrEqual(PACKAGES.length)
    // Node's own resolution from the app, then an import of each (the conformance suites need vitest, which apps need not have).
    const script = `const specs = ${JSON.stringify(specifiers)}
const out = {}
for (const s of specs) {
  out[s] = import.meta.resolve(s)
  if (!/-suite$/.test(s)) await import(s)
}
console.log(JSON.stringify(out))`
    const ran = expectSuccess(
      'resolving the exports',
      await run(process.execPath, ['--input-type=module', '-e', script], app, STEP_TIMEOUT_MS),
    )
    const resolved = JSON.parse(ran.stdout) as Record<string, string>
    for (const [specifier, url] of Object.entries(resolved)) {
      expect(url, specifier).toMatch(/\/node_modules\/@pulse\/[a-z]+\/dist\/.+\.js$/)
    }
  })

  it.each(['commonjs', 'module'] as const)(
    'npx pulse serve serves the app’s own pulse.config.ts ("type": %s) and a Node script syncs with it through @pulse/client',
    async (type) => {
      writeAppPackage(app, tarballs, type)
      writeFileSync(join(app, 'models.ts'), MODELS_TS)
      writeFileSync(join(app, 'pulse.config.ts'), CONFIG_TS)
      writeFileSync(join(app, 'sync-check.mjs'), SYNC_SCRIPT)
      rmSync(join(app, 'pulse.db'), { force: true })
      const port = await freePort()
      // Its own process group, stopped as Ctrl-C stops it: SIGINT to the group (npx does not pass signals on).
      const child = spawn('npx', ['pulse', 'serve', '--port', String(port)], {
        cwd: app,
        env: outsideEnv({ PULSE_SECRET: SECRET }),
        detached: true,
      })
      let output = ''
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
      // 'close': every process holding the output (pulse itself included) has exited.
      const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
      try {
        const url = `http://127.0.0.1:${port}`
        await waitHealthy(url, child, () => output)
        expect(output).toMatch(/serving note from \.\/pulse\.config\.ts/)
        // No web build ships: the root page points to the API docs.
        const home = await fetch(`${url}/`)
        expect([home.status, await home.text()]).toEqual([404, expect.stringContaining('href="/api/docs"')])

        const ran = expectSuccess('the client script', await run(process.execPath, ['sync-check.mjs', url], app, STEP_TIMEOUT_MS))
        const result = JSON.parse(ran.stdout.trim().split('\n').at(-1) as string) as {
          created: string
          seen: { id: string; title: string }[]
          pending: number
          ttl: number
        }
        expect(result.seen).toEqual([{ id: result.created, title: 'from an installed client' }])
        expect(result.pending).toBe(0)
        // The setting beside the models took effect.
        expect(result.ttl).toBe(600)
      } finally {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT')
      }
      await closed
      expect(output).toMatch(/pulse: stopped/)
      // The compiled config is a temporary file, removed once loaded.
      expect(readdirSync(app).filter((f) => f.endsWith('.mjs') && f.includes('pulse.config'))).toEqual([])
    },
    STEP_TIMEOUT_MS,
  )

  it(
    'tsc --noEmit type-checks an app using the public API (nodenext and bundler resolution)',
    async () => {
      writeFileSync(join(app, 'app.mts'), APP_TS)
      const base = { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2023', types: ['node'], jsx: 'react-jsx' }
      const configs = {
        'tsconfig.nodenext.json': { ...base, module: 'nodenext', moduleResolution: 'nodenext' },
        'tsconfig.bundler.json': { ...base, module: 'preserve', moduleResolution: 'bundler' },
      }
      for (const [file, compilerOptions] of Object.entries(configs)) {
        writeFileSync(join(app, file), JSON.stringify({ compilerOptions, files: ['app.mts'] }))
        const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc')
        const ran = await run(process.execPath, [tsc, '-p', file], app, STEP_TIMEOUT_MS)
        expect(ran.code, `${file}:\n${ran.stdout}${ran.stderr}`).toBe(0)
      }
    },
    STEP_TIMEOUT_MS,
  )
})
