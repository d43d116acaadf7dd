/**
 * CPU time of the engine's write path on SQLite, in process: N creates in batches of 500
 * (`engine.write`), then pushes of 100 (`engine.push`): a device creates 4,000 tasks, another
 * edits each, and the first edits each concurrently (every one `merged`, its history read).
 * CPU time (user + system) moves much less than throughput on a shared, loaded machine, so two
 * versions of the write path are compared by running this in each, alternately, several times.
 *
 *   node --import tsx bench/write-cpu.ts [N]
 */
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { defineSchema, type Mutation, uuidv7 } from '@pulse/core'
import { createEngine, createSqliteStorage, systemContext } from '@pulse/server'
import config from '../examples/tasks/pulse.config.ts'
import { nowMs, printTable, tempSqlite } from './support.ts'

const N = Number(process.argv[2] ?? 20_000)
const BATCH = 500
const PUSHED = 4_000
const PUSH_BATCH = 100
const schema = defineSchema(config.models)
/** The organization every benchmark task belongs to. */
const ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'
const AT = '2026-01-01T00:00:00.000Z'

function taskData(i: number) {
  return {
    orgId: ORG,
    title: `Task ${i}`,
    description: 'Something to do, described at some length.',
    priority: i % 6,
    tags: ['bench', `t${i % 10}`],
    dueDate: '2026-12-24',
  }
}

/** Runs `fn`, returning its CPU and wall milliseconds. */
async function measure(fn: () => Promise<void>): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage()
  const t0 = nowMs()
  await fn()
  const used = process.cpuUsage(cpu)
  return { cpuMs: (used.user + used.system) / 1000, wallMs: nowMs() - t0 }
}

const file = tempSqlite('write-cpu')
const storage = await createSqliteStorage({ filename: file })
try {
  await storage.migrate(schema)
  const engine = createEngine({ storage, schema })
  const ctx = systemContext()
  const creates = await measure(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const ops = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ({
        op: 'create' as const,
        model: 'task',
        data: taskData(i + k),
      }))
      await engine.write(ctx, ops, { atomic: true })
    }
  })
  const ids = Array.from({ length: PUSHED }, () => uuidv7())
  const statuses: Record<string, number> = {}
  const pushAll = async (clientId: string, make: (id: string, i: number) => Mutation) => {
    for (let i = 0; i < ids.length; i += PUSH_BATCH) {
      const { results } = await engine.push(ctx, { clientId, mutations: ids.slice(i, i + PUSH_BATCH).map((id, k) => make(id, i + k)) })
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
    }
  }
  const pushes = await measure(async () => {
    await pushAll('svc_a', (id, i) => ({ mid: i + 1, model: 'task', op: 'create', id, vclock: { svc_a: 1 }, data: taskData(i), at: AT }))
    await pushAll('svc_b', (id, i) => ({
      mid: i + 1,
      model: 'task',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { svc_a: 1, svc_b: 1 },
      data: { title: `b ${i}` },
      at: AT,
    }))
    await pushAll('svc_a', (id, i) => ({
      mid: PUSHED + i + 1,
      model: 'task',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { svc_a: 2 },
      data: { title: `a ${i}`, priority: 5 },
      at: AT,
    }))
  })
  const row = (what: string, n: number, m: { cpuMs: number; wallMs: number }) => ({
    'write path': what,
    'CPU ms': Math.round(m.cpuMs),
    'CPU µs per op': Math.round((m.cpuMs * 1000) / n),
    'wall ms': Math.round(m.wallMs),
  })
  printTable(`Write path CPU time on SQLite (statuses of the pushes: ${JSON.stringify(statuses)})`, [
    row(`${N.toLocaleString('en-US')} creates, batches of ${BATCH}`, N, creates),
    row(`${(3 * PUSHED).toLocaleString('en-US')} pushed mutations, batches of ${PUSH_BATCH}`, 3 * PUSHED, pushes),
  ])
} finally {
  await storage.close()
  rmSync(dirname(file), { recursive: true, force: true })
}
