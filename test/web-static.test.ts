/**
 * The web apps' static serving (packages/server/src/http/static.ts): pages and hashed assets
 * from a build, page names only (no paths), and a 404 page that says how to build when there
 * is no build.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine, createHttpServer, createSqliteStorage, schemaOf } from '@pulse/server'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import twoWindow from '../examples/two-window/pulse.config.ts'

describe('web app static serving', () => {
  let dir: string
  const apps: FastifyInstance[] = []

  async function serve(webRoot: string): Promise<FastifyInstance> {
    const storage = await createSqliteStorage({ filename: join(dir, `pulse-${apps.length}.db`) })
    const schema = schemaOf(twoWindow)
    await storage.migrate(schema)
    const app = await createHttpServer({ engine: createEngine({ storage, schema }), logger: false, webRoot })
    app.addHook('onClose', () => storage.close())
    apps.push(app)
    return app
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-static-'))
    const dist = join(dir, 'dist')
    mkdirSync(join(dist, 'demo'), { recursive: true })
    mkdirSync(join(dist, 'assets'))
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>index</title>')
    writeFileSync(join(dist, 'demo/window1.html'), '<!doctype html><title>window 1</title>')
    writeFileSync(join(dist, 'assets/app-abc123.js'), 'console.log(1)')
    writeFileSync(join(dir, 'secret.txt'), 'not served')
  })

  afterAll(async () => {
    for (const app of apps) await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves the index, demo pages by name, and hashed assets for good', async () => {
    const app = await serve(join(dir, 'dist'))
    const index = await app.inject({ url: '/' })
    expect(index.statusCode).toBe(200)
    expect(index.headers['content-type']).toMatch(/^text\/html/)
    expect(index.headers['content-security-policy']).toContain("default-src 'self'")
    expect(index.body).toContain('<title>index</title>')
    const page = await app.inject({ url: '/demo/window1' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('window 1')
    expect((await app.inject({ url: '/demo/window1/' })).statusCode).toBe(200)
    const asset = await app.inject({ url: '/assets/app-abc123.js' })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['content-type']).toMatch(/javascript/)
    expect(asset.headers['cache-control']).toContain('immutable')
  })

  it('answers 404 for a missing page and never leaves the build', async () => {
    const app = await serve(join(dir, 'dist'))
    const missing = await app.inject({ url: '/demo/window9' })
    expect(missing.statusCode).toBe(404)
    expect(missing.body).toContain('No such demo page')
    for (const url of ['/demo/..%2Fsecret.txt', '/demo/%2e%2e/secret', '/assets/..%2F..%2Fsecret.txt', '/assets/../secret.txt']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(res.body, url).not.toContain('not served')
    }
    // API routes are untouched: an unknown one is still the §7 JSON 404.
    const api = await app.inject({ url: '/api/nothing-here' })
    expect(api.statusCode).toBe(404)
    expect(api.json().error.code).toBe('not_found')
  })

  it('says how to build when there is no build', async () => {
    const app = await serve(join(dir, 'no-such-dist'))
    for (const url of ['/', '/demo/window1', '/demo/window2']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toContain('npm run build:web')
    }
  })
})
