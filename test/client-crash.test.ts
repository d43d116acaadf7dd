/**
 * The SIGKILL variant of the real-client convergence fuzz (client-convergence.fuzz.test.ts
 * restarts an in-process server gracefully): a `pulse serve` process on a SQLite file is
 * killed with SIGKILL while real `@pulse/client`s (one over WebSocket, one over HTTP, two
 * devices of one user) push bursts of edits, several times, and started again on the same
 * file. Afterwards every edit has its fate: each task's last edit is what the server and both
 * clients hold, no edit was applied twice (each title appears once in the task's history, in
 * the order it was made), and nothing was refused or given up.
 *
 * Seeded: CRASH_SEED picks the edits and the kill delays (the kill's timing against the
 * commits is the operating system's); CRASH_KILLS scales it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@pulse/client'
import { afterAll, describe, expect, it } from 'vitest'
import config, { task } from '../examples/tasks/pulse.config.ts'
import { makeOrg, signIn } from './support/accounts.ts'
import { freePort, ROOT } from './support/cli.ts'
import { FAST_TIMINGS, testClient } from './support/client-harness.ts'
import { mulberry32 } from './support/random.ts'
import { type ServerProcess, serverProcess } from './support/server-process.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
const SEED = envInt('CRASH_SEED') ?? 20261129
const KILLS = envInt('CRASH_KILLS') ?? 3
const EDITS_PER_BURST = 12

describe('real clients across SIGKILLs of the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-client-crash-'))
  let server: ServerProcess | undefined
  const clients: Client[] = []
  afterAll(async () => {
    for (const c of clients) await c.close()
    await server?.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  it(
    'every edit ends applied once, on the server and on every client',
    async () => {
      const rand = mulberry32(SEED)
      const port = await freePort()
      server = serverProcess(
        port,
        ['--database', `sqlite:${join(dir, 'crash.db')}`, '--config', join(ROOT, 'examples/tasks/pulse.config.ts')],
        { PULSE_SECRET: 'the client crash test signing secret, long enough' },
      )
      const proc = server
      await proc.start()
      const laptop = await signIn(proc.url, 'crash-client', 'laptop')
      const phone = await signIn(proc.url, 'crash-client', 'phone')
      await makeOrg(laptop, 'crash org')
      const devices = [
        { signed: laptop, transport: {} },
        { signed: phone, transport: { WebSocket: null } },
      ]
      for (const { signed, transport } of devices) {
        // Tokens live 15 minutes: longer than the test. The organization is known before the first pull.
        clients.push(
          testClient(proc.url, config.models, {
            clientId: signed.deviceId,
            auth: () => ({ token: signed.access }),
            timings: { ...FAST_TIMINGS, retry: { baseMs: 50, maxMs: 200, maxAttempts: 1000 } },
            ...transport,
          }),
        )
      }
      /** Per task: the titles its client gave it, in order (each task is edited by the client that made it). */
      const titles = new Map<string, string[]>()
      const owner = new Map<string, Client>()
      let n = 0
      const burst = async () => {
        for (let i = 0; i < EDITS_PER_BURST; i++) {
          const client = clients[Math.floor(rand() * clients.length)] as Client
          const mine = [...owner.entries()].filter(([, c]) => c === client).map(([id]) => id)
          n += 1
          const title = `edit ${n}`
          if (mine.length === 0 || rand() < 0.3) {
            const t = await client.create(task, { title })
            titles.set(t.id, [title])
            owner.set(t.id, client)
          } else {
            const id = mine[Math.floor(rand() * mine.length)] as string
            await client.update(task, id, { title })
            titles.get(id)?.push(title)
          }
          if (rand() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(rand() * 10)))
        }
      }
      for (let kill = 0; kill < KILLS; kill++) {
        const edits = burst()
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 40)))
        await proc.kill()
        await edits
        await burst() // made while the server is down
        await proc.start()
      }
      await burst()
      for (const c of clients) await c.sync()
      for (const c of clients) await c.sync()
      for (const c of clients) await c.whenSynced()

      for (const c of clients) {
        expect(c.rejections()).toEqual([])
        expect(c.status()).toMatchObject({ pending: 0, failed: 0, rejected: 0 })
      }
      for (const [id, made] of titles) {
        const res = await laptop.api.get(`/api/tasks/${id}`)
        expect(res.status, `task ${id}: ${res.text}`).toBe(200)
        expect(res.json.title, `task ${id}: its last edit`).toBe(made.at(-1))
        for (const c of clients) expect((await c.get(task, id))?.title, `task ${id} on a client`).toBe(made.at(-1))
        // Applied once each, in order: a title appears at most once in the history, in the order made
        // (edits squashed before sending leave out the titles they overwrote).
        const history = (await laptop.api.get(`/api/tasks/${id}/history`)).json.items as { changes: { title?: { new: string } } }[]
        const written = history.map((h) => h.changes.title?.new).filter((t): t is string => t !== undefined)
        expect(new Set(written).size, `task ${id}: ${JSON.stringify(written)}`).toBe(written.length)
        expect(
          written.map((t) => made.indexOf(t)),
          `task ${id}: ${JSON.stringify(written)} of ${JSON.stringify(made)}`,
        ).toEqual([...written.map((t) => made.indexOf(t))].sort((a, b) => a - b))
      }
      expect(proc.starts).toBe(KILLS + 1)
    },
    5 * 60_000,
  )
})
