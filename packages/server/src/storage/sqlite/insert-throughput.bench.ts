/**
 * A push's writes on SQLite against raw better-sqlite3 writing the same rows to the same
 * tables: N task-like records created, then updated, in transactions of BATCH, each record
 * with its history row and its change-order entry (what `persist` writes for a mutation). The
 * raw baselines run in the same process on the same machine, so the ratios carry:
 * one prepared statement per row, and multi-row statements of 64 rows.
 *
 *   node --conditions=@pulse/source --import tsx packages/server/src/storage/sqlite/insert-throughput.bench.ts [N] [BATCH]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, uuidv7 } from '@pulse/core'
import Database from 'better-sqlite3'
import type { ChangeEntry, HistoryEntry, StoredRecord } from '../storage.ts'
import { createSqliteStorage } from './sqlite-storage.ts'

const N = Number(process.argv[2] ?? 20_000)
const BATCH = Number(process.argv[3] ?? 100)
const ROUNDS = 3
const dir = mkdtempSync(join(tmpdir(), 'pulse-bench-'))
const AT = '2026-01-01T00:00:00.000Z'

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
  return Array.from({ length: n }, (_, i) => ({
    id: uuidv7(),
    version: 1,
    vclock: { server: 1 },
    createdAt: AT,
    updatedAt: AT,
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

const updated = (r: StoredRecord): StoredRecord => ({ ...r, version: 2, values: { ...r.values, title: `${r.values.title} (edited)` } })
const history = (r: StoredRecord): HistoryEntry => ({
  model: 'task',
  recordId: r.id,
  version: r.version,
  op: r.version === 1 ? 'create' : 'update',
  changes: r.version === 1 ? { title: { old: null, new: r.values.title } } : { title: { old: 'before', new: r.values.title } },
  userId: null,
  deviceId: 'dev',
  requestId: null,
  at: AT,
})
const change = (r: StoredRecord): ChangeEntry => ({
  model: 'task',
  recordId: r.id,
  version: r.version,
  ownerId: null,
  orgId: null,
  deleted: false,
})

/** The same tables as Pulse's, written by hand: one statement per row, or `rows` rows per statement. */
function raw(all: readonly StoredRecord[], rows: number): number {
  const db = new Database(join(dir, `raw-${rows}-${Math.random()}.db`))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('wal_autocheckpoint = 10000') // as Pulse's writer (sqlite-connection.ts)
  db.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER, vclock TEXT, createdAt TEXT, updatedAt TEXT, deletedAt TEXT, _fv TEXT,
    title TEXT, description TEXT, status TEXT, priority INTEGER, tags TEXT, dueDate TEXT, completed INTEGER, assigneeId TEXT, projectId TEXT);
    CREATE INDEX t_created ON t (createdAt, id); CREATE INDEX t_project ON t (projectId);
    CREATE TABLE h (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, record_id TEXT, version INTEGER, op TEXT, changes TEXT, user_id TEXT, device_id TEXT, request_id TEXT, at TEXT);
    CREATE INDEX h_r ON h (model, record_id, version);
    CREATE TABLE c (seq INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, record_id TEXT, version INTEGER, owner_id TEXT, org_id TEXT, deleted INTEGER, removed INTEGER NOT NULL DEFAULT 0);
    CREATE UNIQUE INDEX c_r ON c (model, record_id, removed)`)
  const tuples = (count: number, width: number) =>
    Array.from({ length: count }, () => `(${Array.from({ length: width }, () => '?').join(',')})`).join(',')
  // Statements by row count: `rows` per statement, the batch's remainder in one more.
  const prepared = new Map<string, Database.Statement>()
  const stmt = (kind: string, count: number, text: (count: number) => string): Database.Statement => {
    let st = prepared.get(`${kind}${count}`)
    if (!st) {
      st = db.prepare(text(count))
      prepared.set(`${kind}${count}`, st)
    }
    return st
  }
  const insertT = (n: number) => stmt('t', n, (k) => `INSERT INTO t VALUES ${tuples(k, 16)}`)
  const updateT = (n: number) =>
    stmt('u', n, (k) =>
      rows === 1
        ? 'UPDATE t SET version = ?, title = ? WHERE id = ?'
        : `UPDATE t SET version = v.column2, title = v.column3 FROM (VALUES ${tuples(k, 3)}) AS v WHERE t.id = v.column1`,
    )
  const insertH = (n: number) =>
    stmt('h', n, (k) => `INSERT INTO h (model, record_id, version, op, changes, user_id, device_id, request_id, at) VALUES ${tuples(k, 9)}`)
  const replaceC = (n: number) =>
    stmt('c', n, (k) => `INSERT OR REPLACE INTO c (model, record_id, version, owner_id, org_id, deleted, removed) VALUES ${tuples(k, 7)}`)
  const rowT = (r: StoredRecord) => {
    const v = r.values
    return [
      r.id,
      r.version,
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
    ]
  }
  const rowH = (r: StoredRecord) => [
    'task',
    r.id,
    r.version,
    r.version === 1 ? 'create' : 'update',
    JSON.stringify(history(r).changes),
    null,
    'dev',
    null,
    AT,
  ]
  const rowC = (r: StoredRecord) => ['task', r.id, r.version, null, null, 0, 0]
  const run = db.transaction((slice: readonly StoredRecord[], create: boolean) => {
    for (let i = 0; i < slice.length; i += rows) {
      const part = slice.slice(i, i + rows)
      const n = part.length
      if (create) insertT(n).run(part.flatMap(rowT))
      else if (rows === 1) updateT(n).run(part[0]?.version, part[0]?.values.title, part[0]?.id)
      else updateT(n).run(part.flatMap((r) => [r.id, r.version, r.values.title]))
      insertH(n).run(part.flatMap(rowH))
      replaceC(n).run(part.flatMap(rowC))
    }
  })
  const t0 = performance.now()
  for (let i = 0; i < all.length; i += BATCH) run(all.slice(i, i + BATCH), true)
  const edits = all.map(updated)
  for (let i = 0; i < edits.length; i += BATCH) run(edits.slice(i, i + BATCH), false)
  const ms = performance.now() - t0
  db.close()
  return ms
}

/** Pulse's StorageTx, as persist calls it for a batch of creates, then of updates. */
async function pulse(all: readonly StoredRecord[]): Promise<number> {
  const storage = await createSqliteStorage({ filename: join(dir, `pulse-${Math.random()}.db`) })
  await storage.migrate(defineSchema([task]))
  const t0 = performance.now()
  for (let i = 0; i < all.length; i += BATCH) {
    const slice = all.slice(i, i + BATCH)
    await storage.transaction(async (tx) => {
      await tx.insertRecords(task, slice)
      await tx.appendHistory(slice.map(history))
      await tx.appendChanges(slice.map(change))
    })
  }
  const edits = all.map(updated)
  for (let i = 0; i < edits.length; i += BATCH) {
    const slice = edits.slice(i, i + BATCH)
    await storage.transaction(async (tx) => {
      await tx.updateRecords(task, slice)
      await tx.appendHistory(slice.map(history))
      await tx.appendChanges(slice.map(change))
    })
  }
  const ms = performance.now() - t0
  await storage.close()
  return ms
}

/** Wall and CPU milliseconds of `fn` (CPU time moves less on a loaded machine). */
async function measure(fn: () => number | Promise<number>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage()
  const wall = await fn()
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / 1000 }
}

type Run = { wall: number; cpu: number }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const runs = { perRow: [] as Run[], multi: [] as Run[], pulse: [] as Run[] }
for (let round = 0; round < ROUNDS; round++) {
  runs.perRow.push(await measure(() => raw(records(N), 1)))
  runs.multi.push(await measure(() => raw(records(N), 64)))
  runs.pulse.push(await measure(() => pulse(records(N))))
}
function row(writer: string, xs: Run[]) {
  const [wall, cpu] = [median(xs.map((x) => x.wall)), median(xs.map((x) => x.cpu))]
  const [baseWall, baseCpu] = [median(runs.multi.map((x) => x.wall)), median(runs.multi.map((x) => x.cpu))]
  return {
    writer,
    'mutations/s': `${Math.round(((2 * N) / wall) * 1000).toLocaleString('en-US')}/s`,
    'CPU µs per mutation': ((cpu * 1000) / (2 * N)).toFixed(1),
    'time ÷ raw multi-row': (wall / baseWall).toFixed(2),
    'CPU ÷ raw multi-row': (cpu / baseCpu).toFixed(2),
  }
}
console.log(
  `${N} creates then ${N} updates, each with a history row and a change entry, in transactions of ${BATCH} (medians of ${ROUNDS}):`,
)
console.table([
  row('raw better-sqlite3, one statement per row', runs.perRow),
  row('raw better-sqlite3, 64 rows per statement', runs.multi),
  row('Pulse StorageTx (persist’s calls)', runs.pulse),
])
rmSync(dir, { recursive: true, force: true })
