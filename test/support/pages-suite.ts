/**
 * Pages bounded in bytes (PROTOCOL.md §3, §6, §10), run once per database: HTTP pulls, REST
 * lists, WebSocket catch-up and socket pulls end a page at the server's byte bound (`hasMore`,
 * `nextCursor`), a record larger than the bound comes alone, and paging visits every record
 * once, in order. Before the bound, `?limit=5000` returned every record in one page.
 */
import { defineModel, defineSchema, f, type ServerMessage } from '@pulse/core'
import { type RunningServer, type SqlStorage, systemContext } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, startTestServer } from './server.ts'
import { connectWs, helloAndCatchUp, type MessageOf } from './ws-client.ts'

const blob = defineModel('blob', { fields: { n: f.integer(), body: f.text({ default: '' }) } })
const schema = defineSchema([blob])
/** The server's page bound in these tests. */
const PAGE_BYTES = 64 * 1024
/** Record sizes in KB, in creation order: a run of mid-sized ones, one larger than a page, small ones. */
const SIZES_KB = [...Array.from({ length: 12 }, () => 20), 200, ...Array.from({ length: 30 }, () => 1), 20, 20]

type Change = { record: { n?: number } }

/** A page is within the bound (with room for the estimate's slack), or holds one record. */
function expectBounded(changes: readonly unknown[], what: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(changes))
  if (changes.length > 1) expect(bytes, `${what}: ${changes.length} records`).toBeLessThanOrEqual(PAGE_BYTES * 1.1 + 2048)
}

const ns = (changes: readonly Change[]): number[] => changes.map((c) => c.record.n ?? -1)
const all = SIZES_KB.map((_, i) => i)

/** Runs the suite against storages made by `makeStorage`. */
export function runPagesSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`pages bounded in bytes on ${name}`, () => {
    let server: RunningServer
    let api: ReturnType<typeof httpClient>

    beforeAll(async () => {
      server = await startTestServer(schema, await makeStorage(), { maxPageBytes: PAGE_BYTES })
      api = httpClient(server.url)
      for (const [n, kb] of SIZES_KB.entries()) {
        const { outcomes } = await server.engine.write(
          systemContext(),
          [{ op: 'create', model: 'blob', data: { n, body: 'x'.repeat(kb * 1000) } }],
          { atomic: true },
        )
        expect(outcomes[0]?.ok).toBe(true)
      }
    })
    afterAll(async () => {
      await server?.close()
    })

    it('ends HTTP pull pages at the byte bound (hasMore), a larger record alone, every record once', async () => {
      const pages: number[][] = []
      let cursor = ''
      for (;;) {
        const res = await api.get(`/api/sync/pull?limit=5000${cursor ? `&cursor=${cursor}` : ''}`)
        expect(res.status).toBe(200)
        expectBounded(res.json.changes, `page ${pages.length}`)
        pages.push(ns(res.json.changes))
        cursor = res.json.cursor
        if (!res.json.hasMore) break
        expect(res.json.changes.length, 'a page that says more follows is not empty').toBeGreaterThan(0)
      }
      expect(pages.flat()).toEqual(all)
      expect(pages).toContainEqual([12]) // the 200 KB record, alone
      expect(pages.length).toBeGreaterThanOrEqual(6)
      // The count limit still applies under the byte bound.
      const two = await api.get('/api/sync/pull?limit=2')
      expect(ns(two.json.changes)).toEqual([0, 1])
      expect(two.json.hasMore).toBe(true)
    })

    it('ends REST list pages at the byte bound, with a nextCursor to the rest', async () => {
      const pages: number[][] = []
      let cursor: string | null = null
      do {
        const res = await api.get(`/api/blobs?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
        expect(res.status).toBe(200)
        expectBounded(res.json.items, `list page ${pages.length}`)
        pages.push(res.json.items.map((r: { n: number }) => r.n))
        cursor = res.json.nextCursor
      } while (cursor)
      // Records made within one millisecond are listed by id: compare as sets, and none twice.
      expect(pages.flat().sort((a, b) => a - b)).toEqual(all)
      expect(pages).toContainEqual([12])
      expect(pages.length).toBeGreaterThanOrEqual(6)
    })

    it('ends WebSocket catch-up and pull pages at the byte bound', async () => {
      const client = await connectWs(server.url)
      try {
        const { pages } = await helloAndCatchUp(client, { clientId: 'dev-pages' })
        for (const [i, page] of pages.entries()) expectBounded(page.changes, `catch-up page ${i}`)
        expect(pages.flatMap((p) => ns(p.changes as Change[]))).toEqual(all)
        expect(pages.length).toBeGreaterThanOrEqual(6)
        client.send({ type: 'pull', cursor: null, limit: 5000 })
        const pulled = await client.next<MessageOf<'changes'>>((m: ServerMessage) => m.type === 'changes')
        expectBounded(pulled.changes, 'socket pull')
        expect(pulled.hasMore).toBe(true)
        expect(ns(pulled.changes as Change[])).toEqual([0, 1, 2])
      } finally {
        client.close()
      }
    })
  })
}
