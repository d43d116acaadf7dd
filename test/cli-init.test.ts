/**
 * The first five minutes: `pulse init [dir]` writes a starter app, and `pulse serve` in a folder
 * serves that folder's own pulse.config.ts, saying so, or says how to make one.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { appDir, ROOT, runPulse, startPulse, stop } from './support/cli.ts'

const SECRET = { PULSE_SECRET: 'a secret of at least thirty-two characters' }
/** Tests that start `pulse` several times: a busy machine makes each start take seconds. */
const SLOW_MS = 120_000

/** The commands `pulse init` says to run next. */
const nextCommands = (stdout: string) =>
  stdout
    .split('next:\n')[1]
    ?.split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

describe('pulse init', { timeout: SLOW_MS }, () => {
  it('writes a config with one model and .gitignore entries, prints the next two commands, and the app serves', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'pulse-init-'))
    const made = await runPulse(['init', 'my-app'], {}, 60_000, parent)
    expect(made.code, made.stderr).toBe(0)
    const dir = join(parent, 'my-app')
    expect(readFileSync(join(dir, 'pulse.config.ts'), 'utf8')).toMatch(/defineModel\('note'/)
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['pulse.db', 'pulse.db-*', '.pulse/']))
    // Nothing is installed there yet: install, then serve.
    expect(nextCommands(made.stdout)).toEqual([
      'cd my-app && npm install @pulse/core @pulse/server @pulse/cli',
      'cd my-app && npx pulse serve',
    ])

    // Once the packages resolve there, `pulse serve` in that folder serves its config.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
    const { child, url, output } = await startPulse([], SECRET, dir)
    expect(output()).toMatch(/serving note from \.\/pulse\.config\.ts on /)
    const register = await fetch(`${url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'first', password: 'correct horse battery staple' }),
    })
    expect(register.status).toBe(201)
    const login = (await (
      await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'first', password: 'correct horse battery staple' }),
      })
    ).json()) as { access: string }
    const note = await fetch(`${url}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access}` },
      body: '{"title":"first note"}',
    })
    expect(note.status, await note.clone().text()).toBe(201)
    expect(await stop(child)).toBe(0)
    // The database landed where .gitignore expects it.
    expect(existsSync(join(dir, 'pulse.db'))).toBe(true)
  })

  it('in the current folder with the packages installed: suggests createsuperuser then serve; never overwrites a config', async () => {
    const dir = appDir({ '.gitignore': 'node_modules/\npulse.db' })
    const made = await runPulse(['init'], {}, 60_000, dir)
    expect(made.code, made.stderr).toBe(0)
    expect(nextCommands(made.stdout)).toEqual(['npx pulse createsuperuser', 'npx pulse serve'])
    // Only the missing entries were added.
    const ignored = readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')
    expect(ignored.filter((l) => l === 'pulse.db')).toHaveLength(1)
    expect(ignored).toEqual(expect.arrayContaining(['node_modules/', 'pulse.db-*', '.pulse/']))

    writeFileSync(join(dir, 'pulse.config.ts'), '// mine\n')
    const again = await runPulse(['init'], {}, 60_000, dir)
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/pulse\.config\.ts already exists; nothing was changed/)
    expect(readFileSync(join(dir, 'pulse.config.ts'), 'utf8')).toBe('// mine\n')
  })
})

describe('pulse serve finds its config', { timeout: SLOW_MS }, () => {
  it('in a folder without pulse.config.ts: says how to make one', async () => {
    const dir = appDir()
    const r = await runPulse(['serve', '--port', '0'], {}, 60_000, dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no pulse\.config\.ts in .*: write one with `npx pulse init`, or name one with --config <file>/)
  })

  it('a config in a folder whose package.json is not "type": "module", importing a TypeScript file of its own', async () => {
    const dir = appDir({
      'package.json': '{ "name": "plain-app", "private": true }',
      'models.ts':
        "import { defineModel, f } from '@pulse/core'\nexport const thing = defineModel('thing', { fields: { name: f.string() } })\n",
      'pulse.config.ts':
        "import { defineConfig } from '@pulse/server'\nimport { thing } from './models'\nexport default defineConfig({ models: [thing] })\n",
    })
    const { child, output } = await startPulse([], SECRET, dir)
    expect(output()).toMatch(/serving thing from \.\/pulse\.config\.ts/)
    expect(await stop(child)).toBe(0)
  })
})
