/**
 * insertRecords on SQLite against raw better-sqlite3 prepared inserts of the same rows:
 * N task-like records in transactions of BATCH, on files in the temp directory.
 *
 *   node --import tsx packages/server/src/storage/sqlite/insert-throughput.bench.ts [N] [BATCH]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import Database from 'better-sqlite3'
import type { StoredRecord } from '../storage.ts'
import { createSqliteStorage } from './sqlite-storage.ts'

const N = Number(process.argv[2] ?? 10_000)
const BATCH = Number(process.argv[3] ?? 500)
const dir = mkdtempSync(join(tmpdir(), 'pulse-bench-'))

const task = defineModel('task', {
  fields: {
    title: f.string({ max: 200 }),
    description: f.text({ default: '' }),
    status: f.enum(['todo', 'in_progress', 'done'], { default: 'todo' }),
    priority: f.integer({ default: 0 }),
    tags: f.set({ default: [] }),
    dueDate: f.date({ nullable: true }),
    completed: f.boolean({ default: false }),
    assigneeId: f.string({ nullable: true }),
    projectId: f.ref('task', { nullable: true }),
  },
})

function records(n: number): StoredRecord[] {
  const at = new Date().toISOString()
  return Array.from({ length: n }, (_, i) => ({
    id: uuidv7(),
    version: 1,
    vclock: { server: 1 },
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    fieldVersions: {},
    values: {
      title: `Task ${i}`,
      description: 'Something to do, described at some length.',
      status: 'todo',
      priority: i % 6,
      tags: ['bench', `t${i % 10}`],
      dueDate: '2026-12-24',
      completed: false,
      assigneeId: null,
      projectId: null,
    },
  }))
}

function raw(rows: readonly StoredRecord[]): number {
  const db = new Database(join(dir, 'raw.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER, vclock TEXT, createdAt TEXT, updatedAt TEXT, deletedAt TEXT, _fv TEXT,
    title TEXT, description TEXT, status TEXT, priority INTEGER, tags TEXT, dueDate TEXT, completed INTEGER, assigneeId TEXT, projectId TEXT)`)
  db.exec('CREATE INDEX t_created ON t (createdAt, id); CREATE INDEX t_project ON t (projectId)')
  const insert = db.prepare('INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
  const batch = db.transaction((slice: readonly StoredRecord[]) => {
    for (const r of slice) {
      const v = r.values
      insert.run(
        r.id,
        1,
        JSON.stringify(r.vclock),
        r.createdAt,
        r.updatedAt,
        null,
        '{}',
        v.title,
        v.description,
        v.status,
        v.priority,
        JSON.stringify(v.tags),
        v.dueDate,
        0,
        null,
        null,
      )
    }
  })
  const t0 = performance.now()
  for (let i = 0; i < rows.length; i += BATCH) batch(rows.slice(i, i + BATCH))
  const ms = performance.now() - t0
  db.close()
  return ms
}

async function pulse(rows: readonly StoredRecord[]): Promise<number> {
  const storage = await createSqliteStorage({ filename: join(dir, 'pulse.db') })
  await storage.migrate(defineSchema([task]))
  const t0 = performance.now()
  for (let i = 0; i < rows.length; i += BATCH) {
    const slice = rows.slice(i, i + BATCH)
    await storage.transaction((tx) => tx.insertRecords(task, slice))
  }
  const ms = performance.now() - t0
  await storage.close()
  return ms
}

const perSecond = (ms: number): string => `${Math.round((N / ms) * 1000).toLocaleString('en-US')}/s`
const rawMs = raw(records(N))
const pulseMs = await pulse(records(N))
console.log(
  `${N} records in batches of ${BATCH}: raw better-sqlite3 ${perSecond(rawMs)}, insertRecords ${perSecond(pulseMs)} (${((rawMs / pulseMs) * 100).toFixed(0)} % of raw)`,
)
rmSync(dir, { recursive: true, force: true })
