#!/usr/bin/env node
/**
 * Builds the web apps (apps/web, with Vite) into apps/web/dist, which `pulse serve` serves at
 * `/`. Skips the build when dist is newer than every source it is made from (apps/web and the
 * packages it bundles: core, client, react), so `npm start` stays fast after the first run.
 *
 *   node scripts/build-web.mjs           build if stale
 *   node scripts/build-web.mjs --force   build anyway
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const WEB = join(ROOT, 'apps/web')
const DIST = join(WEB, 'dist')
/** Written after a successful build; its time is the build's. */
const STAMP = join(DIST, '.build-stamp')
const SOURCES = [
  WEB,
  join(ROOT, 'packages/core/src'),
  join(ROOT, 'packages/client/src'),
  join(ROOT, 'packages/react/src'),
  join(ROOT, 'examples/two-window'),
]
const SKIPPED = new Set(['dist', 'node_modules'])

/** The newest modification time (ms) of any file under `path`, tests included (cheap to over-build). */
function newestMtime(path) {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) {
    if (SKIPPED.has(entry)) continue
    newest = Math.max(newest, newestMtime(join(path, entry)))
  }
  return newest
}

function isFresh() {
  const stamp = statSync(STAMP, { throwIfNoEntry: false })
  return stamp !== undefined && SOURCES.every((source) => newestMtime(source) <= stamp.mtimeMs)
}

if (!process.argv.includes('--force') && existsSync(STAMP) && isFresh()) {
  console.log('build-web: apps/web/dist is up to date')
} else {
  const started = performance.now()
  // Vite is loaded only when there is something to build.
  const { build } = await import('vite')
  await build({ root: WEB, logLevel: 'warn' })
  writeFileSync(STAMP, `${new Date().toISOString()}\n`)
  console.log(`build-web: built apps/web into apps/web/dist in ${Math.round(performance.now() - started)} ms`)
}
