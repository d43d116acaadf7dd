/**
 * Exactly once across crashes (PROTOCOL.md §4): a real `pulse serve` process on a SQLite file
 * is killed with SIGKILL while a push is in flight, three times, and started again on the same
 * database. The client retries every failed push exactly as sent (same mids); afterwards every
 * acknowledged mutation is in the database and none was applied twice: each task's version and
 * history hold exactly its mutations, in order, each once. A retried batch must come back all
 * `duplicate` (it had committed before the kill) or all `applied` (it had not): anything in
 * between would mean a batch committed in part.
 *
 * Seeded: CRASH_SEED=<n> picks the mutation stream and the kill points (the kill's timing
 * against the commit is the operating system's). CRASH_KILLS and CRASH_BATCHES scale it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Mutation, PushResponse } from '@pulse/core'
import { createSqliteStorage, type Storage } from '@pulse/server'
import { afterAll, describe, expect, it } from 'vitest'
import { task } from '../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './support/accounts.ts'
import { freePort, ROOT } from './support/cli.ts'
import { mulberry32 } from './support/random.ts'
import { type ServerProcess, serverProcess } from './support/server-process.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
const SEED = envInt('CRASH_SEED') ?? 20261123
const KILLS = envInt('CRASH_KILLS') ?? 3
const BATCHES = envInt('CRASH_BATCHES') ?? 30
const BATCH_SIZE = 20
const PUSH_TIMEOUT_MS = 10_000

/** What the client sent for one task: every mutation's title, in order. */
interface TaskLog {
  titles: string[]
}

/** The outcome of one batch: how many attempts, and the statuses of the answer that came back. */
interface BatchOutcome {
  attempts: number
  statuses: string[]
  killed: boolean
  /** Killed the moment it had committed, its answer never heard. */
  lostAfterCommit: boolean
}

describe('crash safety: SIGKILL during pushes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-crash-'))
  let server: ServerProcess | undefined
  let observer: Storage | undefined
  afterAll(async () => {
    await server?.kill()
    await observer?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it(
    'loses no acknowledged mutation and applies none twice across kills and restarts',
    async () => {
      const rand = mulberry32(SEED)
      const port = await freePort()
      server = serverProcess(
        port,
        ['--database', `sqlite:${join(dir, 'crash.db')}`, '--config', join(ROOT, 'examples/tasks/pulse.config.ts')],
        {
          PULSE_SECRET: 'the crash test signing secret, long enough',
        },
      )
      const proc = server
      await proc.start()
      const user: SignedIn = await signIn(proc.url, 'crash-tester', 'crash device')
      await makeOrg(user, 'crash org') // tasks belong to an organization: the only one is used
      const clientId = user.deviceId
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${user.access}` }

      // The stream: creates and updates of tasks, each with a title no other mutation has.
      const tasks = new Map<string, TaskLog>()
      const ids: string[] = []
      const batches: Mutation[][] = []
      let mid = 0
      const at = () => new Date().toISOString()
      for (let b = 0; b < BATCHES; b++) {
        const batch: Mutation[] = []
        for (let i = 0; i < BATCH_SIZE; i++) {
          mid += 1
          const title = `title of mid ${mid}`
          const priority = Math.floor(rand() * 6)
          if (ids.length < 3 || rand() < 0.3) {
            const id = crypto.randomUUID()
            ids.push(id)
            tasks.set(id, { titles: [title] })
            batch.push({ mid, model: 'task', op: 'create', id, vclock: { [clientId]: 1 }, data: { title, priority }, at: at() })
          } else {
            const id = ids[Math.floor(rand() * ids.length)] as string
            const log = tasks.get(id) as TaskLog
            log.titles.push(title)
            const n = log.titles.length
            // §4: this device's n-th change of the record, made on top of version n - 1.
            batch.push({
              mid,
              model: 'task',
              op: 'update',
              id,
              baseVersion: n - 1,
              vclock: { [clientId]: n },
              data: { title, priority },
              at: at(),
            })
          }
        }
        batches.push(batch)
      }
      // Kill points: distinct batches, not the first (the account set-up) and not the last.
      const killAt = new Set<number>()
      while (killAt.size < Math.min(KILLS, BATCHES - 2)) killAt.add(1 + Math.floor(rand() * (BATCHES - 2)))

      // A second, read-only look at the database file, to see the moment a batch commits.
      observer = await createSqliteStorage({ filename: join(dir, 'crash.db') })
      /** True once the batch's last mutation (so, the batch is one transaction, all of it) is committed. */
      const committed = async (batch: Mutation[]): Promise<boolean> => {
        const last = batch.at(-1) as Mutation
        const record = await (observer as Storage).getRecord(task, last.id)
        return record !== undefined && record.version >= (last.baseVersion ?? 0) + 1
      }
      /** Kills the server `delayMs` after the push was sent: before, during or just after its commit. */
      const killInFlight = async (delayMs: number) => {
        await new Promise((r) => setTimeout(r, delayMs))
        await proc.kill()
      }
      /** Waits until the batch has committed, then kills the server at once. */
      const killAfterCommit = async (batch: Mutation[]) => {
        const deadline = Date.now() + PUSH_TIMEOUT_MS
        while (!(await committed(batch))) {
          if (Date.now() > deadline) throw new Error(`the batch of mids ${batch[0]?.mid}-${batch.at(-1)?.mid} never committed`)
          await new Promise((r) => setImmediate(r))
        }
        await proc.kill()
      }

      let kills = 0
      let retries = 0
      let duplicates = 0
      const outcomes: BatchOutcome[] = []
      for (const [b, batch] of batches.entries()) {
        let restarted: Promise<void> | undefined
        let lostAfterCommit = false
        let attempts = 0
        let answer: PushResponse | undefined
        while (!answer) {
          attempts += 1
          if (attempts > 1) retries += 1
          // The client's side of the connection, which dies with the server in the after-commit kill.
          const connection = new AbortController()
          const request = fetch(`${proc.url}/api/sync/push`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ clientId, mutations: batch }),
            signal: AbortSignal.any([connection.signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]),
          })
          // Handled below, once the kill (if any) is done; until then a reset must not go unhandled.
          request.catch(() => {})
          if (attempts === 1 && killAt.has(b)) {
            // Two ways to die, in turn. In flight: 0-2 ms after sending, before, during or after
            // the commit. After the commit: the moment it is in the database, and the client
            // never hears the answer (its connection is gone), so its retry must be all duplicate.
            if (kills % 2 === 1) {
              restarted = killInFlight(Math.floor(rand() * 3)).then(() => proc.start())
            } else {
              await killAfterCommit(batch)
              connection.abort()
              lostAfterCommit = true
              restarted = proc.start()
            }
            kills += 1
          }
          try {
            const res = await request
            const text = await res.text()
            if (lostAfterCommit && attempts === 1) throw new Error('the answer is lost with the connection')
            if (res.status === 200) answer = JSON.parse(text) as PushResponse
            // 429 and 5xx: back off and retry; anything else is a failure.
            else if (res.status !== 429 && res.status < 500) throw new Error(`push of batch ${b} answered ${res.status}: ${text}`)
          } catch (e) {
            // Connection refused or reset, or a timeout: retry the batch as it was. Anything else fails the test.
            if (e instanceof Error && e.message.startsWith('push of batch')) throw e
          }
          if (!answer) await new Promise((r) => setTimeout(r, 25))
          if (attempts > 2_000) throw new Error(`batch ${b} never got an answer:\n${proc.output()}`)
        }
        await restarted
        expect(answer.results.map((r) => r.mid)).toEqual(batch.map((m) => m.mid))
        expect(answer.lastMid).toBe(batch.at(-1)?.mid)
        const statuses = answer.results.map((r) => r.status)
        duplicates += statuses.filter((s) => s === 'duplicate').length
        if (lostAfterCommit) expect(statuses, `batch ${b} had committed before the kill`).toEqual(batch.map(() => 'duplicate'))
        outcomes.push({ attempts, statuses, killed: killAt.has(b), lostAfterCommit })
      }

      // Every answer acknowledged its batch whole: all applied, or (a retry of a batch that had
      // committed before the kill) all duplicate. A mix would be a batch committed in part.
      for (const [b, o] of outcomes.entries()) {
        const kinds = [...new Set(o.statuses)]
        expect(kinds.length === 1 && (kinds[0] === 'applied' || kinds[0] === 'duplicate'), `batch ${b}: ${JSON.stringify(o)}`).toBe(true)
        if (kinds[0] === 'duplicate') expect(o.attempts, `batch ${b} is a duplicate only when retried`).toBeGreaterThan(1)
      }
      const acknowledged = outcomes.reduce((n, o) => n + o.statuses.length, 0)
      expect(acknowledged).toBe(mid)
      expect(proc.starts).toBe(1 + killAt.size)

      // Everything acknowledged is in the database, once: version, current title and history.
      let lost = 0
      let appliedTwice = 0
      /** A GET that backs off while the server rate-limits the token (200 requests/s). */
      const api = async (path: string): Promise<{ status: number; json: any }> => {
        for (;;) {
          const r = await fetch(`${proc.url}${path}`, { headers })
          if (r.status !== 429) return { status: r.status, json: await r.json() }
          await r.arrayBuffer()
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      for (const [id, log] of tasks) {
        const record = await api(`/api/tasks/${id}`)
        expect(record.status, `task ${id}`).toBe(200)
        const history = await api(`/api/tasks/${id}/history`)
        expect(history.status).toBe(200)
        const items = history.json.items as { version: number; op: string; changes: { title?: { new: unknown } } }[]
        const seen = items.map((h) => h.changes.title?.new)
        lost += log.titles.filter((t) => !seen.includes(t)).length
        appliedTwice += seen.length - new Set(seen).size
        expect(record.json.version, `task ${id}: one version per mutation`).toBe(log.titles.length)
        expect(record.json.title).toBe(log.titles.at(-1))
        expect(items.map((h) => h.version)).toEqual(log.titles.map((_, i) => i + 1))
        expect(items.map((h) => h.op)).toEqual(log.titles.map((_, i) => (i === 0 ? 'create' : 'update')))
        expect(seen, `task ${id}: its history is its mutations, in order, each once`).toEqual(log.titles)
      }
      expect(lost).toBe(0)
      expect(appliedTwice).toBe(0)

      const killed = outcomes.filter((o) => o.killed)
      const afterCommit = killed.filter((o) => o.lostAfterCommit).length
      const inFlightBefore = killed.filter((o) => !o.lostAfterCommit && o.attempts > 1 && o.statuses[0] === 'applied').length
      const inFlightDuplicate = killed.filter((o) => !o.lostAfterCommit && o.statuses[0] === 'duplicate').length
      const inFlightAnswered = killed.length - afterCommit - inFlightBefore - inFlightDuplicate
      console.log(
        `crash test (CRASH_SEED=${SEED}): ${mid} mutations sent in ${batches.length} batches of ${BATCH_SIZE} (${tasks.size} tasks); ` +
          `${killAt.size} kills (batches ${[...killAt].sort((x, y) => x - y).join(', ')}): ${afterCommit} right after the commit with the answer lost, ` +
          `${killed.length - afterCommit} in flight (${inFlightBefore} before the commit, ${inFlightDuplicate} after it, ${inFlightAnswered} after the answer); ` +
          `acknowledged ${acknowledged}, retried pushes ${retries}, duplicates seen ${duplicates}, lost ${lost}, applied twice ${appliedTwice}`,
      )
    },
    5 * 60_000,
  )
})
