/**
 * `pulse init [dir]`: a starter `pulse.config.ts` with one model, `.gitignore` entries for what
 * `pulse serve` writes (the SQLite database, the development secret), and the next two commands.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'

/** The starter configuration. */
export const STARTER_CONFIG = `/**
 * The models Pulse stores, serves and syncs, and the server's settings: \`npx pulse serve\`
 * reads this file. Field kinds, merge policies and every setting are in Pulse's README.
 */
import { defineModel, f, type RecordOf } from '@pulse/core'
import { defineConfig } from '@pulse/server'

/** A note belongs to the user who wrote it and syncs to that user's devices. */
export const note = defineModel('note', {
  fields: {
    title: f.string({ max: 200 }),
    body: f.text({ default: '', merge: 'text' }),
    done: f.boolean({ default: false }),
    ownerId: f.owner(),
  },
})
export type Note = RecordOf<typeof note>

export default defineConfig({
  models: [note],
  // Settings; environment variables and \`pulse serve\` flags override them (secrets belong in
  // the environment: PULSE_SECRET).
  server: {
    port: 8000,
    database: 'sqlite:./pulse.db', // or postgres://… (DATABASE_URL)
    auth: { allowRegistration: true, accessTtlSeconds: 900 },
  },
})
`

/** What `pulse serve` writes into the app's folder and git should not keep. */
export const IGNORED = ['pulse.db', 'pulse.db-*', '.pulse/'] as const

const PACKAGES = ['@pulse/core', '@pulse/server', '@pulse/cli'] as const

/** Whether `name` can be imported from `dir`. */
function installedIn(dir: string, name: string): boolean {
  try {
    createRequire(join(dir, 'noop.js')).resolve(`${name}/package.json`)
    return true
  } catch {
    return false
  }
}

/**
 * Writes the starter files into `dir` (created if missing) and returns what to tell the person.
 * Refuses to overwrite an existing config; adds only the `.gitignore` lines that are missing.
 */
export function init(dir: string, cwd = process.cwd()): string {
  const target = resolve(cwd, dir)
  const config = join(target, 'pulse.config.ts')
  if (existsSync(config)) throw new Error(`${config} already exists; nothing was changed`)
  mkdirSync(target, { recursive: true })
  writeFileSync(config, STARTER_CONFIG, { flag: 'wx' })

  const gitignore = join(target, '.gitignore')
  const present = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : ''
  const lines = new Set(present.split(/\r?\n/).map((l) => l.trim()))
  const missing = IGNORED.filter((entry) => !lines.has(entry))
  if (missing.length > 0) {
    const separator = present === '' || present.endsWith('\n') ? '' : '\n'
    writeFileSync(gitignore, `${present}${separator}# pulse serve: the SQLite database and the development secret\n${missing.join('\n')}\n`)
  }

  const inDir = target === cwd ? '' : `cd ${dir} && `
  const install = PACKAGES.filter((name) => !installedIn(target, name))
  const next =
    install.length > 0
      ? [`${inDir}npm install ${install.join(' ')}`, `${inDir}npx pulse serve`]
      : [`${inDir}npx pulse createsuperuser`, `${inDir}npx pulse serve`]
  return [
    `pulse init: wrote ${config}`,
    missing.length > 0
      ? `pulse init: ignored ${missing.join(', ')} in ${gitignore}`
      : `pulse init: ${gitignore} already ignores the database and secret`,
    '',
    'next:',
    ...next.map((command) => `  ${command}`),
  ].join('\n')
}
