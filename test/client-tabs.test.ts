/**
 * Several tabs, one store (issue 9 finding 3), in Node: "tabs" are clients on one IndexedDB
 * (fake-indexeddb, one factory), with Web Locks played by an in-process lock manager and
 * Node's own BroadcastChannel. One owns the store and syncs; the others write through it. The
 * Chromium test (tabs.browser.test.ts) does the same with real tabs and a real tab closing.
 */
import type { Client, LockManagerLike, WebSocketConstructor } from '@pulse/client'
import { createIndexedDbStore } from '@pulse/client'
import { systemContext } from '@pulse/server'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestNetwork, eventually, type RestartableServer, startRestartableServer, testClient } from './support/client-harness.ts'
import { note, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]

/** Web Locks for one process: exclusive locks by name, granted in request order. */
class ProcessLocks implements LockManagerLike {
  private readonly held = new Set<string>()
  private readonly waiting = new Map<string, (() => void)[]>()

  async request(
    name: string,
    options: { ifAvailable?: boolean; signal?: { addEventListener(type: 'abort', l: () => void): void } },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null)
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(name) ?? []
        queue.push(resolve)
        this.waiting.set(name, queue)
        options.signal?.addEventListener('abort', () => {
          this.waiting.set(
            name,
            (this.waiting.get(name) ?? []).filter((r) => r !== resolve),
          )
          reject(Object.assign(new Error('the lock request was aborted'), { name: 'AbortError' }))
        })
      })
    }
    this.held.add(name)
    try {
      return await callback({ name })
    } finally {
      this.held.delete(name)
      this.waiting.get(name)?.shift()?.()
    }
  }
}

describe('tabs sharing one store (Node)', () => {
  let server: RestartableServer
  const clients: Client[] = []
  let run = 0

  beforeAll(async () => {
    server = await startRestartableServer(syncSchema, 'tabs')
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
  })
  afterAll(async () => {
    await server.stop()
  })

  /** A tab factory: every tab opens the same store, with the same locks, as the same device. */
  function browser(extra: Parameters<typeof testClient>[2] = {}) {
    run += 1
    const indexedDB = new IDBFactory()
    const locks = new ProcessLocks()
    const name = `tabs-${run}`
    const clientId = `tabs-device-${run}-${Date.now()}`
    return (more: Parameters<typeof testClient>[2] = {}) => {
      const tab = testClient(server.url, models, {
        store: createIndexedDbStore(name, { indexedDB }),
        clientId,
        tabs: { locks },
        ...extra,
        ...more,
      })
      clients.push(tab)
      return tab
    }
  }

  const onServer = async (id: string) => server.current.engine.storage.getRecord(note, id)

  it('one tab owns the store and syncs; the others write through it and see every change live', async () => {
    const open = browser()
    const a = open()
    await a.ready
    const b = open()
    const c = open()
    await Promise.all([b.ready, c.ready])
    expect([a.status().tab, b.status().tab, c.status().tab]).toEqual(['leader', 'follower', 'follower'])
    let heard = 0
    const live = c.live(note, { where: { body: 'through' } })
    live.subscribe(() => {
      heard += 1
    })
    const n = await b.create(note, { title: 'from a follower', body: 'through' })
    expect(n).toMatchObject({ title: 'from a follower', localOnly: true })
    expect(await b.get(note, n.id)).toMatchObject({ title: 'from a follower' })
    await eventually(() => live.getSnapshot()?.length === 1, 'the other follower sees it live')
    expect(heard).toBeGreaterThan(0)
    await eventually(async () => (await onServer(n.id)) !== undefined, 'the owner pushed it')
    await b.whenSynced()
    expect(b.status()).toMatchObject({ tab: 'follower', transport: 'websocket', pending: 0, upToDate: true })
    // Validation errors, and every other refusal, come back to the tab that asked.
    await expect(c.update(note, n.id, { title: 'x'.repeat(201) })).rejects.toMatchObject({ name: 'PulseError', code: 'validation_failed' })
    await expect(c.delete(note, '0193a7e4-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' })
    await c.update(note, n.id, { title: 'edited in a third tab' })
    await eventually(async () => (await a.get(note, n.id))?.title === 'edited in a third tab', 'the owner has it')
    await c.sync()
    expect((await onServer(n.id))?.values.title).toBe('edited in a third tab')
    for (const t of [a, b, c]) expect((t as Client & { errors: unknown[] }).errors).toEqual([])
  })

  it('writes from two tabs while offline are all kept: one outbox, no mid used twice', async () => {
    const net = createTestNetwork()
    net.down()
    const open = browser({ fetch: net.fetch, WebSocket: net.WebSocket as WebSocketConstructor })
    const a = open()
    await a.ready
    const b = open()
    await b.ready
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await (i % 2 === 0 ? a : b).create(note, { title: `offline ${i}`, body: 'two tabs' })).id)
    const mids = a.outbox().map((e) => e.mutation.mid)
    expect(new Set(mids).size).toBe(4)
    expect(b.outbox().map((e) => e.mutation.mid)).toEqual(mids)
    await b.close()
    await a.close()
    clients.length = 0
    net.up()
    const later = open({ fetch: net.fetch, WebSocket: net.WebSocket as WebSocketConstructor })
    await later.whenSynced()
    for (const id of ids) expect(await onServer(id)).toBeDefined()
  })

  it('the owner closing with writes of another tab unanswered: the next owner runs each once', async () => {
    const open = browser()
    const a = open()
    await a.ready
    const b = open()
    await b.ready
    // Many writes at once from the follower; the owner goes while answering them.
    const writing = Array.from({ length: 60 }, (_, i) => b.create(note, { title: `burst ${i}`, body: 'hand-over' }))
    await eventually(() => a.outbox().length + a.status().pending > 10 || a.status().lastSyncedAt !== null, 'the owner is busy')
    await a.close()
    const created = await Promise.all(writing)
    await eventually(() => b.status().tab === 'leader', 'b owns the store')
    await b.whenSynced()
    for (const n of created) {
      const stored = await onServer(n.id)
      expect(stored?.version, n.id).toBe(1)
      const history = await server.current.engine.history(systemContext(), 'note', n.id)
      expect(history.map((h) => h.op)).toEqual(['create'])
    }
    expect(new Set(created.map((n) => n.id)).size).toBe(60)
    expect(b.status()).toMatchObject({ pending: 0, rejected: 0, failed: 0 })
  })
})
