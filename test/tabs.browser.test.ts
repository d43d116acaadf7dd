/**
 * Several tabs, one store (issue 9 finding 3), in Debian's Chromium: three tabs of one origin
 * open the same IndexedDB store as one device of a real server (accounts on). One tab at a time
 * owns the store (Web Locks) and syncs; the others write through it and see every change live
 * (BroadcastChannel). The owner is closed in the middle of a sync — a push landed on the server
 * but not answered, a follower's writes still coming — and another tab takes over: every note
 * reaches the server exactly once, and every tab left shows them all.
 *
 * Needs /usr/bin/chromium (see test/support/chromium.ts); without it the file skips.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WireRecord } from '@pulse/core'
import { createSqliteStorage, type RunningServer, systemContext } from '@pulse/server'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SignedIn, signIn } from './support/accounts.ts'
import type { TabConfig, TabState } from './support/browser-suite/tabs-entry.ts'
import { bundleForBrowser, haveChromium, launchChromium, openScriptPage } from './support/chromium.ts'
import { startTestServer } from './support/server.ts'
import { syncSchema } from './support/sync-models.ts'

const TIMEOUT_MS = 20_000
const BURST = 120

describe.skipIf(!haveChromium())('three tabs of one store in Chromium', { timeout: 120_000 }, () => {
  let dir: string
  let server: RunningServer
  let browser: Browser
  let context: BrowserContext
  let script: string
  let me: SignedIn

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-tabs-'))
    server = await startTestServer(syncSchema, await createSqliteStorage({ filename: join(dir, 'pulse.db') }), { auth: true })
    browser = await launchChromium()
    script = await bundleForBrowser('test/support/browser-suite/tabs-entry.ts')
    me = await signIn(server.url, 'tabs', 'the browser')
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  // Runs in the page (no DOM lib in the tests' type check).
  const tabApi = (page: Page) => ({
    start: (config: TabConfig) => page.evaluate((c) => (globalThis as any).__tab.start(c), config),
    watch: (marker: string) => page.evaluate((m) => (globalThis as any).__tab.watch(m), marker),
    hold: (on: boolean) => page.evaluate((o) => (globalThis as any).__tab.hold(o), on),
    write: (marker: string, count: number) => page.evaluate(([m, n]) => (globalThis as any).__tab.write(m, n), [marker, count] as const),
    written: (marker: string): Promise<string[]> => page.evaluate((m) => (globalThis as any).__tab.written(m), marker),
    state: (marker: string): Promise<TabState> => page.evaluate((m) => (globalThis as any).__tab.state(m), marker),
    errors: (): Promise<string[]> => page.evaluate(() => (globalThis as any).__tab.errors()),
  })

  /** The live notes with a marker body on the server. */
  async function onServer(marker: string): Promise<WireRecord[]> {
    const answer = await me.api.get('/api/sync/pull?limit=5000&models=note')
    const changes = answer.json.changes as { record: WireRecord }[]
    return changes.map((c) => c.record).filter((r) => r.body === marker && r.deletedAt === null)
  }

  it('one tab syncs, the others write through it and see every change live; closing it mid-push loses and doubles nothing', async () => {
    context = await browser.newContext()
    const pageErrors: string[] = []
    const pages: Page[] = []
    for (let i = 0; i < 3; i++) {
      const page = await openScriptPage(context, server.url, `/__tab${i}`, script)
      page.on('pageerror', (error) => pageErrors.push(error.message))
      await page.waitForFunction(() => '__tab' in globalThis)
      pages.push(page)
    }
    const tabs = pages.map(tabApi)
    const config: TabConfig = { url: server.url, deviceId: me.deviceId, access: me.access, store: 'pulse-tabs' }
    const roles: unknown[] = []
    for (const t of tabs) roles.push(await t.start(config))
    expect(roles).toEqual(['leader', 'follower', 'follower'])
    await expect.poll(async () => (await tabs[0]?.state('live'))?.transport, { timeout: TIMEOUT_MS }).toBe('websocket')
    const [owner, second, third] = tabs as [ReturnType<typeof tabApi>, ReturnType<typeof tabApi>, ReturnType<typeof tabApi>]
    for (const t of tabs) await t.watch('live')

    // A follower's write goes through the owner to the server, and every tab sees it live.
    await second.write('live', 1)
    await second.written('live')
    for (const t of tabs) await expect.poll(async () => (await t.state('live')).live, { timeout: TIMEOUT_MS }).toBe(1)
    await expect.poll(async () => (await onServer('live')).length, { timeout: TIMEOUT_MS }).toBe(1)
    // So does the owner's, and one the server sends (written by this device's other tab: still live everywhere).
    await owner.write('live', 1)
    for (const t of tabs)
      await expect.poll(async () => (await t.state('live')).titles, { timeout: TIMEOUT_MS }).toEqual(['live 0', 'live 0'])
    expect((await third.state('live')).tab).toBe('follower')
    // Its push answered before answers are held (a push still in flight would hold the burst behind it).
    await expect.poll(async () => (await onServer('live')).length, { timeout: TIMEOUT_MS }).toBe(2)
    await expect.poll(async () => (await owner.state('live')).pending, { timeout: TIMEOUT_MS }).toBe(0)

    // The owner's push answers are held: its first push of the burst lands on the server, unanswered.
    await owner.hold(true)
    await second.write('burst', BURST)
    await expect.poll(async () => (await onServer('burst')).length > 0, { timeout: TIMEOUT_MS }).toBe(true)
    await expect.poll(async () => (await owner.state('burst')).syncing > 0, { timeout: TIMEOUT_MS }).toBe(true)
    await expect.poll(async () => (await second.state('burst')).titles.length >= 20, { timeout: TIMEOUT_MS }).toBe(true)
    const before = await owner.state('burst')
    expect(before.titles.length).toBeLessThan(BURST)
    await pages[0]?.close()

    // Another tab owns the store now; the follower's writes go on through it.
    await expect
      .poll(async () => [(await second.state('burst')).tab, (await third.state('burst')).tab].sort(), { timeout: TIMEOUT_MS })
      .toEqual(['follower', 'leader'])
    const ids = await second.written('burst')
    expect(new Set(ids).size).toBe(BURST)
    // Exactly once on the server: every note, each created once.
    await expect.poll(async () => (await onServer('burst')).length, { timeout: TIMEOUT_MS }).toBe(BURST)
    const notes = await onServer('burst')
    expect(new Set(notes.map((n) => n.id))).toEqual(new Set(ids))
    for (const n of notes) {
      expect(n.version, n.id).toBe(1)
      const history = await server.engine.history(systemContext(), 'note', n.id)
      expect(history.map((h) => h.op)).toEqual(['create'])
    }
    // Both tabs left show every note, with nothing pending or refused.
    const titles = Array.from({ length: BURST }, (_, i) => `burst ${i}`).sort()
    for (const t of [second, third]) {
      await expect.poll(async () => (await t.state('burst')).titles, { timeout: TIMEOUT_MS }).toEqual(titles)
      await expect.poll(async () => (await t.state('burst')).pending, { timeout: TIMEOUT_MS }).toBe(0)
      expect((await t.state('burst')).rejected).toBe(0)
      expect(await t.errors()).toEqual([])
    }
    expect(pageErrors).toEqual([])
  })
})
