/**
 * Seed 001's two-window demo in a real browser (Debian's Chromium driven by playwright-core):
 * a real server with accounts on, serving the built web app; two pages of one browser context,
 * each signed in as its own device with its own IndexedDB store. Edits cross between the
 * windows live; edits made while the context is offline are kept and converge afterwards.
 * Also runs the client's LocalStore conformance suite against Chromium's real IndexedDB.
 *
 * Needs /usr/bin/chromium (PULSE_CHROMIUM overrides it; `npm test` installs it first through
 * scripts/ensure-chromium.mjs). Without it the file skips with a one-line reason, or fails
 * under CI=true.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage, type RunningServer, schemaOf } from '@pulse/server'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import twoWindow from '../examples/two-window/pulse.config.ts'
import { signIn } from './support/accounts.ts'
import type { SuiteResult } from './support/browser-suite/vitest-shim.ts'
import { bundleForBrowser, haveChromium, launchChromium, openScriptPage, ROOT } from './support/chromium.ts'
import { startTestServer } from './support/server.ts'

const SHARED_PERSON_ID = '01900000-0000-7000-8000-00000000d001'
const SYNC_TIMEOUT_MS = 15_000
/** Each test's limit: several syncs, on a machine that may be running the other test files too. */
const TEST_TIMEOUT_MS = 90_000
const ACCESS_TTL_SECONDS = 3

/** Builds apps/web unless its dist is newer than its sources (the script checks). */
function buildWebApp(): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-web.mjs')], { cwd: ROOT, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`building apps/web failed:\n${result.stdout}${result.stderr}`)
}

describe.skipIf(!haveChromium())('two-window demo in Chromium', { timeout: TEST_TIMEOUT_MS }, () => {
  let dir: string
  let server: RunningServer
  /** A server whose access tokens live seconds, not minutes. */
  let shortLived: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const pageErrors: string[] = []

  beforeAll(async () => {
    buildWebApp()
    dir = mkdtempSync(join(tmpdir(), 'pulse-browser-'))
    server = await startTestServer(schemaOf(twoWindow), await createSqliteStorage({ filename: join(dir, 'pulse.db') }), { auth: true })
    shortLived = await startTestServer(schemaOf(twoWindow), await createSqliteStorage({ filename: join(dir, 'short.db') }), {
      auth: true,
      accessTtlSeconds: ACCESS_TTL_SECONDS,
    })
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.close()
    await shortLived?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext()
    contexts.push(context)
    return context
  }

  async function openWindow(context: BrowserContext, path: string, base = server.url): Promise<Page> {
    const page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`))
    await page.goto(`${base}${path}`)
    // The page signed in, caught up and found (or created) the shared person.
    await page.locator('#firstName').waitFor({ timeout: SYNC_TIMEOUT_MS })
    return page
  }

  const fieldOf = (page: Page, field: 'firstName' | 'lastName') => page.inputValue(`#${field}`)
  const onlineOf = (page: Page) => page.getAttribute('#sync-status', 'data-online')
  const pendingOf = (page: Page) => page.getAttribute('#sync-status', 'data-pending')

  it('signs each window in as its own device and shows the editable and read-only fields', async () => {
    const context = await newContext()
    const window1 = await openWindow(context, '/demo/window1')
    const window2 = await openWindow(context, '/demo/window2')
    expect(await window1.locator('#firstName').isEditable()).toBe(true)
    expect(await window1.locator('#lastName').isEditable()).toBe(false)
    expect(await window2.locator('#firstName').isEditable()).toBe(false)
    expect(await window2.locator('#lastName').isEditable()).toBe(true)
    const devices = await Promise.all(
      [window1, window2].map((page, i) =>
        // Runs in the page: the tests' type check has no DOM, hence the cast.
        page.evaluate(
          (key) => JSON.parse((globalThis as any).localStorage.getItem(key) ?? '{}').deviceId as string,
          `pulse-demo:window${i + 1}:session`,
        ),
      ),
    )
    expect(devices[0]).toMatch(/^dev_/)
    expect(devices[1]).toMatch(/^dev_/)
    expect(devices[0]).not.toBe(devices[1])
    await expect.poll(() => onlineOf(window1), { timeout: SYNC_TIMEOUT_MS }).toBe('true')
    expect(pageErrors).toEqual([])
  })

  it('an edit in one window appears in the other without reload, both ways', async () => {
    const context = await newContext()
    const window1 = await openWindow(context, '/demo/window1')
    const window2 = await openWindow(context, '/demo/window2')

    await window1.fill('#firstName', 'Grace')
    await expect.poll(() => fieldOf(window2, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Grace')
    await window2.fill('#lastName', 'Hopper')
    await expect.poll(() => fieldOf(window1, 'lastName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Hopper')
    // Typing, a keystroke at a time, arrives whole.
    await window1.locator('#firstName').pressSequentially(' B.', { delay: 20 })
    await expect.poll(() => fieldOf(window2, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Grace B.')
    expect(pageErrors).toEqual([])
  })

  it('edits made offline in both windows are kept, and both windows converge once back online', async () => {
    const context = await newContext()
    const window1 = await openWindow(context, '/demo/window1')
    const window2 = await openWindow(context, '/demo/window2')
    await window1.fill('#firstName', 'Katherine')
    await window2.fill('#lastName', 'Johnson')
    await expect.poll(() => fieldOf(window2, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Katherine')
    await expect.poll(() => fieldOf(window1, 'lastName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Johnson')

    await context.setOffline(true)
    await expect.poll(() => onlineOf(window1), { timeout: SYNC_TIMEOUT_MS }).toBe('false')
    await expect.poll(() => onlineOf(window2), { timeout: SYNC_TIMEOUT_MS }).toBe('false')
    await window1.fill('#firstName', 'Dorothy')
    await window2.fill('#lastName', 'Vaughan')
    // Each window shows its own edit at once, queued in its outbox…
    expect(await fieldOf(window1, 'firstName')).toBe('Dorothy')
    expect(await fieldOf(window2, 'lastName')).toBe('Vaughan')
    await expect.poll(() => pendingOf(window1), { timeout: SYNC_TIMEOUT_MS }).toBe('1')
    await expect.poll(() => pendingOf(window2), { timeout: SYNC_TIMEOUT_MS }).toBe('1')
    // …and nothing crosses while offline.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await fieldOf(window1, 'lastName')).toBe('Johnson')
    expect(await fieldOf(window2, 'firstName')).toBe('Katherine')

    await context.setOffline(false)
    for (const page of [window1, window2]) {
      await expect.poll(() => fieldOf(page, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Dorothy')
      await expect.poll(() => fieldOf(page, 'lastName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Vaughan')
      await expect.poll(() => pendingOf(page), { timeout: SYNC_TIMEOUT_MS }).toBe('0')
    }
    // The server holds the same record.
    const reader = await signIn(server.url, 'browser-test-reader')
    const record = await reader.api.get(`/api/persons/${SHARED_PERSON_ID}`)
    expect(record.status).toBe(200)
    expect(record.json).toMatchObject({ firstName: 'Dorothy', lastName: 'Vaughan' })
    expect(pageErrors).toEqual([])
  })

  it('keeps syncing after the access tokens expire: the pages renew them', async () => {
    const context = await newContext()
    const window1 = await openWindow(context, '/demo/window1', shortLived.url)
    const window2 = await openWindow(context, '/demo/window2', shortLived.url)
    await window1.fill('#firstName', 'Frances')
    await expect.poll(() => fieldOf(window2, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Frances')
    const tokenOf = (page: Page, key: string) =>
      page.evaluate((k) => JSON.parse((globalThis as any).localStorage.getItem(k) ?? '{}').access as string, key)
    const firstToken = await tokenOf(window2, 'pulse-demo:window2:session')
    // Past the tokens' lifetime, and past the server's re-check of open sockets' credentials.
    await new Promise((resolve) => setTimeout(resolve, (ACCESS_TTL_SECONDS + 1) * 1000))
    await window2.fill('#lastName', 'Allen')
    await expect.poll(() => fieldOf(window1, 'lastName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Allen')
    await window1.fill('#firstName', 'Fran')
    await expect.poll(() => fieldOf(window2, 'firstName'), { timeout: SYNC_TIMEOUT_MS }).toBe('Fran')
    expect(await tokenOf(window2, 'pulse-demo:window2:session')).not.toBe(firstToken)
    await expect.poll(() => onlineOf(window1), { timeout: SYNC_TIMEOUT_MS }).toBe('true')
    expect(pageErrors).toEqual([])
  })

  it('answers a clear 404 page for a demo page that does not exist', async () => {
    const response = await fetch(`${server.url}/demo/window3`)
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/text\/html/)
    expect(await response.text()).toContain('No such demo page')
  })

  it("passes the client's LocalStore conformance suite against Chromium's IndexedDB", async () => {
    const script = await bundleForBrowser('test/support/browser-suite/store-suite-entry.ts')
    const page = await openScriptPage(await newContext(), server.url, '/__store-suite', script)
    await page.waitForFunction(() => '__storeSuite' in globalThis)
    const results = await page.evaluate(() => (globalThis as unknown as { __storeSuite: Promise<SuiteResult[]> }).__storeSuite)
    const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)
    expect(failed).toEqual([])
    expect(results.length).toBeGreaterThanOrEqual(10)
  })
})
