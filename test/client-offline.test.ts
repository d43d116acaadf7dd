/**
 * Offline-first end to end (issue 4 acceptance): several clients edit while cut off and
 * converge once back; a client closed with pending changes sends them when reopened on its
 * SQLite file; a server restart in the middle of a sync loses nothing and applies nothing
 * twice; an expired cursor turns into a full resync that keeps pending changes, and so does a
 * cursor past the head of a server restored from an older backup.
 */
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Client } from '@pulse/client'
import { createSqliteStore } from '@pulse/client/sqlite'
import type { WireRecord } from '@pulse/core'
import { systemContext } from '@pulse/server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestNetwork,
  eventually,
  type RestartableServer,
  startRestartableServer,
  type TestNetwork,
  tempDir,
  testClient,
} from './support/client-harness.ts'
import { mulberry32 } from './support/random.ts'
import { note, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]
const FIELDS = ['title', 'body', 'priority', 'tags', 'status'] as const

/** The server's live notes with the marker body prefix, as comparable plain values. */
async function serverNotes(server: RestartableServer, marker: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${server.url}/api/sync/pull?limit=5000&models=note`)
  const page = (await res.json()) as { changes: { record: WireRecord }[] }
  return page.changes
    .map((c) => c.record)
    .filter((r) => r.deletedAt === null && String(r.body).startsWith(marker))
    .map(comparable)
    .sort((a, b) => String(a.id).localeCompare(String(b.id)))
}

function comparable(r: { id: string; version: number }): Record<string, unknown> {
  return { id: r.id, version: r.version, ...Object.fromEntries(FIELDS.map((f) => [f, (r as Record<string, unknown>)[f]])) }
}

async function clientNotes(client: Client, marker: string): Promise<Record<string, unknown>[]> {
  const all = await client.query(note, { orderBy: 'id' })
  return all.filter((r) => String(r.body).startsWith(marker)).map(comparable)
}

describe('client offline-first (real server)', () => {
  let server: RestartableServer
  const clients: Client[] = []
  const track = <C extends Client>(c: C): C => {
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    server = await startRestartableServer(syncSchema, 'offline')
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
  })
  afterAll(async () => {
    await server.stop()
  })

  it('three clients edit while offline; back online they all converge to the server’s state', async () => {
    const seed = Number(process.env.PULSE_SEED ?? Date.now() % 100_000)
    const random = mulberry32(seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
    const marker = `conv ${seed} `
    const nets: TestNetwork[] = [createTestNetwork(), createTestNetwork(), createTestNetwork()]
    const cs = nets.map((net) => track(testClient(server.url, models, { fetch: net.fetch, WebSocket: net.WebSocket })))
    for (let i = 0; i < 6; i++) await cs[0]?.create(note, { title: `seed ${i}`, body: `${marker}${i}` })
    for (const c of cs) await eventually(async () => (await clientNotes(c, marker)).length === 6, 'seeded everywhere')

    try {
      for (let round = 0; round < 3; round++) {
        for (const net of nets) net.down()
        for (const c of cs) {
          for (let k = 0; k < 8; k++) {
            const live = await clientNotes(c, marker)
            const roll = random()
            if (roll < 0.15 || live.length === 0) {
              await c.create(note, { title: `new r${round}`, body: `${marker}new ${round} ${k}`, priority: Math.floor(random() * 5) })
            } else if (roll < 0.22) {
              await c.delete(note, pick(live).id as string)
            } else {
              const target = pick(live).id as string
              const field = pick(FIELDS)
              const value =
                field === 'priority'
                  ? Math.floor(random() * 9)
                  : field === 'tags'
                    ? [pick(['a', 'b', 'c']), pick(['d', 'e'])]
                    : field === 'status'
                      ? pick(['todo', 'doing', 'done'])
                      : field === 'body'
                        ? `${marker}${pick(['x', 'y', 'z'])} ${round}`
                        : `t ${round} ${k}`
              await c.update(note, target, { [field]: value })
            }
          }
        }
        expect(cs.every((c) => c.status().pending > 0)).toBe(true)
        for (const net of nets) net.up()
        await eventually(() => cs.every((c) => c.status().pending === 0 && c.status().transport === 'websocket'), 'all pushed', 15_000)
        const expected = await serverNotes(server, marker)
        for (const c of cs) {
          await eventually(async () => JSON.stringify(await clientNotes(c, marker)) === JSON.stringify(expected), 'converged', 15_000)
        }
      }
    } catch (e) {
      console.error(`convergence failed with PULSE_SEED=${seed}`)
      throw e
    }
    for (const c of cs) expect((c as Client & { errors: unknown[] }).errors).toEqual([])
  })

  it('a client closed with pending changes sends them when reopened on the same SQLite file', async () => {
    const file = join(tempDir('reopen'), 'client.db')
    const net = createTestNetwork()
    net.down()
    const first = testClient(server.url, models, { store: createSqliteStore(file), fetch: net.fetch, WebSocket: net.WebSocket })
    const a = await first.create(note, { title: 'a', body: 'reopen' })
    const b = await first.create(note, { title: 'b', body: 'reopen' })
    await first.update(note, a.id, { title: 'a2' })
    await first.delete(note, b.id)
    const c = await first.create(note, { title: 'c', body: 'reopen' })
    expect(first.status().pending).toBe(2)
    const clientId = first.clientId
    await first.close()
    expect(await server.current.engine.storage.getRecord(note, a.id)).toBeUndefined()

    net.up()
    const second = track(testClient(server.url, models, { store: createSqliteStore(file), fetch: net.fetch, WebSocket: net.WebSocket }))
    await second.ready
    expect(second.clientId).toBe(clientId)
    expect(await second.get(note, a.id)).toMatchObject({ title: 'a2', localOnly: true })
    expect(await second.get(note, b.id)).toBeUndefined()
    await eventually(() => second.status().pending === 0, 'sent after reopening')
    expect((await server.current.engine.storage.getRecord(note, a.id))?.values.title).toBe('a2')
    expect((await server.current.engine.storage.getRecord(note, c.id))?.values.title).toBe('c')
    expect(await server.current.engine.storage.getRecord(note, b.id)).toBeUndefined()
    expect(await second.get(note, a.id)).toMatchObject({ title: 'a2', localOnly: false, version: 1 })
  })

  it('a server restart in the middle of a sync loses nothing and applies nothing twice', async () => {
    const marker = `restart ${Date.now()} `
    const a = track(testClient(server.url, models))
    await eventually(() => a.status().transport === 'websocket', 'connected')
    const ids: string[] = []
    for (let i = 0; i < 400; i++) ids.push((await a.create(note, { title: `n${i}`, body: `${marker}${i}` })).id)
    // Stop while a batch is out: some answers are in, the next push is in flight.
    const inFlight = () => a.outbox().some((e) => e.status === 'SYNCING')
    await eventually(() => a.status().pending < 400 && inFlight(), 'answers in and a push in flight', 5000)
    await server.stop()
    for (let i = 0; i < 400; i += 7) await a.update(note, ids[i] as string, { title: `n${i} edited` })
    await new Promise((r) => setTimeout(r, 300))
    expect(a.status()).toMatchObject({ online: false, transport: null })
    expect(a.status().pending).toBeGreaterThan(0)
    await server.start()
    await eventually(() => a.status().pending === 0, 'everything arrived after the restart', 15_000)
    const onServer = await serverNotes(server, marker)
    expect(onServer).toHaveLength(400)
    const engine = server.current.engine
    for (const r of onServer) {
      const i = Number(String(r.body).slice(marker.length))
      const edited = i % 7 === 0
      expect(r.title).toBe(edited ? `n${i} edited` : `n${i}`)
      // Exactly once: one create in the history; an edit is a second version, unless it was
      // squashed into a create that had not gone out yet.
      const history = await engine.history(systemContext(), 'note', r.id as string)
      expect(history.map((h) => h.op)).toEqual(history.length === 1 ? ['create'] : ['create', 'update'])
      expect(r.version).toBe(history.length)
      if (!edited) expect(history).toHaveLength(1)
    }
    await eventually(async () => JSON.stringify(await clientNotes(a, marker)) === JSON.stringify(onServer), 'the client agrees')
    expect((a as Client & { errors: unknown[] }).errors).toEqual([])
  })

  it('a server restored from an older backup: the cursor past its head turns into a full resync, not a client that gives up', async () => {
    const a = track(testClient(server.url, models))
    const kept = await a.create(note, { title: 'kept', body: 'backup' })
    await eventually(() => a.status().pending === 0 && a.status().transport === 'websocket', 'kept synced')
    await server.stop()
    const backup = `${server.file}.backup`
    copyFileSync(server.file, backup)
    await server.start()
    const lost = await a.create(note, { title: 'lost with the restore', body: 'backup' })
    for (let i = 0; i < 5; i++) await a.update(note, lost.id, { title: `lost ${i}` })
    await eventually(() => a.status().pending === 0, 'lost synced')
    // The operator restores the backup: the server's change order now ends before a's cursor.
    await server.stop()
    for (const suffix of ['-wal', '-shm']) rmSync(`${server.file}${suffix}`, { force: true })
    copyFileSync(backup, server.file)
    await server.start()
    // a resyncs from no cursor: what the restored server lacks goes, what it has stays, and
    // the client goes on syncing (a 400 here would have stopped it for good).
    await eventually(async () => (await a.get(note, lost.id)) === undefined, 'a dropped what the restore lost', 15_000)
    expect(await a.get(note, kept.id)).toMatchObject({ title: 'kept', localOnly: false })
    const after = await a.create(note, { title: 'after the restore', body: 'backup' })
    await eventually(() => a.status().pending === 0, 'a syncs again', 15_000)
    expect((await server.current.engine.storage.getRecord(note, after.id))?.values.title).toBe('after the restore')
    expect(a.status().rejected).toBe(0)
  })

  for (const transport of ['websocket', 'http'] as const) {
    it(`an expired cursor (${transport}) triggers a full resync that drops purged records and keeps pending changes`, async () => {
      const net = createTestNetwork()
      const socket = transport === 'websocket' ? { WebSocket: net.WebSocket } : { WebSocket: null }
      const a = track(testClient(server.url, models, { fetch: net.fetch, ...socket }))
      const b = track(testClient(server.url, models))
      const x = await b.create(note, { title: 'x', body: 'resync' })
      const y = await b.create(note, { title: 'y', body: 'resync' })
      await eventually(async () => (await a.get(note, y.id)) !== undefined && (await a.get(note, x.id)) !== undefined, 'a has x and y')
      net.down()
      await b.delete(note, x.id)
      const z = await b.create(note, { title: 'z', body: 'resync' })
      await eventually(() => b.status().pending === 0, 'b synced')
      await a.update(note, y.id, { title: 'y by a' })
      await new Promise((r) => setTimeout(r, 5))
      expect(await server.current.engine.purgeTombstones(0)).toBeGreaterThan(0)
      net.up()
      await eventually(async () => (await a.get(note, z.id)) !== undefined && a.status().pending === 0, 'a resynced and pushed', 10_000)
      expect(await a.get(note, x.id)).toBeUndefined()
      expect(await a.get(note, y.id)).toMatchObject({ title: 'y by a', localOnly: false })
      expect((await server.current.engine.storage.getRecord(note, y.id))?.values.title).toBe('y by a')
      // (The socket may come back a poll later than HTTP: the first attempt can race the network's return.)
      await eventually(() => a.status().transport === transport, `back on ${transport}`)
      // The cursor works again: a later change arrives as usual.
      await b.update(note, z.id, { title: 'z2' })
      await eventually(async () => (await a.get(note, z.id))?.title === 'z2', 'a follows on', 10_000)
    })
  }
})
