#!/usr/bin/env node
/**
 * Builds what `pulse` runs from: every package's TypeScript into its dist/ (ES modules, .d.ts,
 * source and declaration maps) with `tsc -b tsconfig.build.json`, which skips the packages whose
 * sources did not change; then the web apps (scripts/build-web.mjs, skipped when fresh).
 * `npm install` (prepare), `npm start` and `npm test` run it.
 *
 *   node scripts/build.mjs               packages, then the web apps
 *   node scripts/build.mjs --packages    packages only
 *   node scripts/build.mjs --force       rebuild, even what is up to date
 *
 * Files a package reads at run time beside its modules (ASSET_EXTENSIONS, e.g. the server's
 * common-password list) are copied from src/ to the same place under dist/ when newer.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGES = ['core', 'server', 'client', 'react', 'cli']
const force = process.argv.includes('--force')

/** When each package's last build finished (its tsbuildinfo is rewritten by every build). */
const stamps = () => PACKAGES.map((p) => statSync(`${ROOT}packages/${p}/dist/.tsbuildinfo`, { throwIfNoEntry: false })?.mtimeMs)

const before = stamps()
const started = performance.now()
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const result = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json', ...(force ? ['--force'] : [])], {
  cwd: ROOT,
  stdio: 'inherit',
})
if (result.status !== 0) {
  console.error(`build: tsc -b failed (${result.error?.message ?? `exit ${result.status}`})`)
  process.exit(1)
}

/** Run-time data files, copied beside the built modules that read them. */
const ASSET_EXTENSIONS = ['.txt']

function copyAssets(pkg) {
  const src = `${ROOT}packages/${pkg}/src`
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const from = join(dir, entry.name)
      if (entry.isDirectory()) walk(from)
      else if (ASSET_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
        const to = join(`${ROOT}packages/${pkg}/dist`, relative(src, from))
        const target = statSync(to, { throwIfNoEntry: false })
        if (force || !target || target.mtimeMs < statSync(from).mtimeMs) {
          mkdirSync(dirname(to), { recursive: true })
          copyFileSync(from, to)
        }
      }
    }
  }
  walk(src)
}
for (const pkg of PACKAGES) copyAssets(pkg)

const after = stamps()
const built = PACKAGES.filter((_, i) => after[i] !== before[i])
const ms = Math.round(performance.now() - started)
console.log(built.length === 0 ? `build: packages up to date (${ms} ms)` : `build: built ${built.join(', ')} in ${ms} ms`)

if (!process.argv.includes('--packages')) {
  const web = spawnSync(process.execPath, [`${ROOT}scripts/build-web.mjs`, ...(force ? ['--force'] : [])], { cwd: ROOT, stdio: 'inherit' })
  if (web.status !== 0) process.exit(1)
}
