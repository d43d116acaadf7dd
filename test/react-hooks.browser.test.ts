/**
 * @pulse/react in Chromium: the hooks rendered by react-dom, over clients of a real server with
 * accounts on (two devices of one user). The tests themselves run in the page
 * (test/support/browser-suite/react-hooks-entry.ts); this file starts the server, signs the
 * devices in, and checks every test passed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn } from './support/accounts.ts'
import type { HooksSuiteConfig } from './support/browser-suite/react-hooks-config.ts'
import type { SuiteResult } from './support/browser-suite/vitest-shim.ts'
import { bundleForBrowser, haveChromium, launchChromium, openScriptPage } from './support/chromium.ts'
import { startTestServer } from './support/server.ts'
import { syncSchema } from './support/sync-models.ts'

describe.skipIf(!haveChromium())('@pulse/react hooks in Chromium', () => {
  let dir: string
  let server: RunningServer
  let browser: Browser

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-react-'))
    server = await startTestServer(syncSchema, await createSqliteStorage({ filename: join(dir, 'pulse.db') }), { auth: true })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('useRecord, useQuery, useSyncStatus, useConflicts, useRejections and the provider behave as documented', async () => {
    const [first, second] = [await signIn(server.url, 'hooks', 'first tab'), await signIn(server.url, 'hooks', 'second tab')]
    const config: HooksSuiteConfig = {
      url: server.url,
      devices: [
        { deviceId: first.deviceId, access: first.access },
        { deviceId: second.deviceId, access: second.access },
      ],
    }
    const script = await bundleForBrowser('test/support/browser-suite/react-hooks-entry.ts')
    const page = await openScriptPage(await browser.newContext(), server.url, '/__react-hooks', script)
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.waitForFunction(() => '__runHooksSuite' in globalThis)
    const results = await page.evaluate(
      (given) => (globalThis as unknown as { __runHooksSuite(c: HooksSuiteConfig): Promise<SuiteResult[]> }).__runHooksSuite(given),
      config,
    )
    const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)
    expect(failed).toEqual([])
    expect(results.map((r) => r.name)).toHaveLength(7)
    expect(errors).toEqual([])
  }, 90_000)
})
