#!/usr/bin/env node
/**
 * Makes sure Debian's Chromium is there for the browser test (test/*.browser.test.ts), before
 * `npm test`. Nothing downloads a browser build of its own: when /usr/bin/chromium is missing and
 * this runs as root on a machine with apt-get, it installs Debian's `chromium` package (after
 * `apt-get update`). Otherwise it prints one line saying why the browser test will skip; under
 * CI=true a missing browser is an error instead, so CI never passes by skipping.
 *
 *   node scripts/ensure-chromium.mjs            (PULSE_CHROMIUM overrides the path)
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CHROMIUM = process.env.PULSE_CHROMIUM || '/usr/bin/chromium'
const CI = process.env.CI === 'true'

/** Runs a command with its output kept, unless it fails: then the output's tail is shown. */
function run(command, args) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.status === 0) return true
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n')
  console.error(`ensure-chromium: ${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})\n${output}`)
  return false
}

/** Why Chromium cannot be installed here, or null when apt-get as root can. */
function cannotInstall() {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Debian`
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'installing it needs root (apt-get install -y chromium)'
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return 'apt-get is not available'
  return null
}

function missing(reason) {
  const line = `${CHROMIUM} is missing and ${reason}`
  if (CI) {
    console.error(`ensure-chromium: ${line}; CI=true requires the browser test to run`)
    process.exit(1)
  }
  console.warn(`ensure-chromium: the browser test will skip: ${line}`)
  process.exit(0)
}

if (!existsSync(CHROMIUM)) {
  const reason = cannotInstall()
  if (reason) missing(reason)
  console.log(`ensure-chromium: installing Debian's chromium for the browser test (apt-get update, apt-get install -y chromium)`)
  const installed = run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'])
  if (!installed || !existsSync(CHROMIUM)) missing('apt-get could not install it')
  console.log(`ensure-chromium: installed ${CHROMIUM}`)
}
