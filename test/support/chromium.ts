/**
 * Browser tests in Debian's Chromium, driven by playwright-core (nothing downloads a browser):
 * whether it is there, launching it with the flags this machine's closed network needs, and
 * running a bundled script in a page of a test server's origin.
 *
 *   describe.skipIf(!haveChromium())('… in Chromium', () => { … launchChromium() … })
 *
 * A missing browser makes the file skip with a one-line reason; under CI=true it throws.
 * `npm test` installs it first (scripts/ensure-chromium.mjs).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Debian's Chromium; PULSE_CHROMIUM overrides it. */
export const CHROMIUM = process.env.PULSE_CHROMIUM || '/usr/bin/chromium'

/**
 * No background connections or component updates: this machine's network is closed. Local
 * Network Access checks off: a page whose HTML the test supplies (`openScriptPage`) has no
 * address of its own, and Chromium would block its WebSocket to the test server on 127.0.0.1.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-features=LocalNetworkAccessChecks',
]

let warned = false

/** True when Chromium is installed; else prints why its tests skip (once), or throws under CI=true. */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true
  const line = `${CHROMIUM} is missing (npm test installs it with scripts/ensure-chromium.mjs)`
  if (process.env.CI === 'true') throw new Error(`${line}; CI=true requires the browser tests`)
  if (!warned) console.warn(`skipping browser tests: ${line}`)
  warned = true
  return false
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}

/** Bundles a browser entry (repository-relative) into one ES module, with `vitest` aliased to the browser shim. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    // The workspace packages from their sources, as in every other test (see vitest.config.ts).
    conditions: ['@pulse/source'],
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    alias: { vitest: join(ROOT, 'test/support/browser-suite/vitest-shim.ts') },
    logLevel: 'silent',
  })
  const text = result.outputFiles[0]?.text
  if (!text) throw new Error(`esbuild made nothing of ${entry}`)
  return text
}

/**
 * Opens a page at `origin` + `path` whose HTML the test supplies (the server never sees the
 * request), running `script` as a module: a real origin, for IndexedDB and same-origin fetches.
 */
export async function openScriptPage(context: BrowserContext, origin: string, path: string, script: string): Promise<Page> {
  const page = await context.newPage()
  await page.route(`${origin}${path}`, (route) =>
    route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>${path}</title><script type="module">${script}</script>` }),
  )
  await page.goto(`${origin}${path}`)
  return page
}
