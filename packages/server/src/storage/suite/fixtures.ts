/**
 * Models and records the storage conformance suite works with.
 */
import { defineModel, defineSchema, f, type ModelDefinition, uuidv7 } from '@pulse/core'
import type { ChangeEntry, HistoryEntry, Storage, StoredRecord } from '../storage.ts'

/** Gives the suite's tests the storage of the running test. */
export interface SuiteContext {
  /** The storage of the current test: fresh, empty and not yet migrated. */
  storage(): Storage
  /** Another fresh storage (closed by the suite after the test). */
  make(): Promise<Storage>
}

/** A model with one nullable field of every kind. */
export const kinds = defineModel('kinds', {
  fields: {
    str: f.string({ nullable: true }),
    txt: f.text({ nullable: true }),
    flag: f.boolean({ nullable: true }),
    count: f.integer({ nullable: true }),
    price: f.decimal({ nullable: true, precision: 12, scale: 2 }),
    at: f.datetime({ nullable: true }),
    day: f.date({ nullable: true }),
    state: f.enum(['todo', 'doing', 'done'], { nullable: true }),
    data: f.json({ nullable: true }),
    tags: f.set({ nullable: true }),
    parent: f.ref('kinds', { nullable: true }),
    ownerId: f.owner({ nullable: true }),
    orgId: f.org({ nullable: true }),
  },
})

/** A listable model: every order-able kind, nullable, plus `run` to keep test runs apart. */
export const item = defineModel('item', {
  fields: {
    run: f.string(),
    rank: f.integer({ nullable: true }),
    name: f.string({ nullable: true }),
    price: f.decimal({ nullable: true }),
    done: f.boolean({ default: false }),
    due: f.date({ nullable: true }),
    at: f.datetime({ nullable: true }),
    state: f.enum(['todo', 'doing', 'done'], { nullable: true }),
    data: f.json({ nullable: true }),
  },
})

/** The suite's schema. */
export const suiteSchema = defineSchema([kinds, item])

const T0 = Date.parse('2026-11-23T10:00:00.000Z')

/** An ISO time `n` seconds after a fixed moment. */
export function at(n: number): string {
  return new Date(T0 + n * 1000).toISOString()
}

/** A stored record of `model`: version 1, every field null unless given. */
export function makeRecord(model: ModelDefinition, values: Record<string, unknown> = {}, over: Partial<StoredRecord> = {}): StoredRecord {
  const all: Record<string, unknown> = {}
  const fieldVersions: Record<string, number> = {}
  for (const name of model.specs.keys()) {
    all[name] = Object.hasOwn(values, name) ? values[name] : null
    fieldVersions[name] = 1
  }
  return {
    id: uuidv7(),
    version: 1,
    vclock: { dev_a: 1 },
    createdAt: at(0),
    updatedAt: at(0),
    deletedAt: null,
    fieldVersions,
    values: all,
    ...over,
  }
}

/** Inserts records in one transaction. */
export async function insert(storage: Storage, model: ModelDefinition, records: readonly StoredRecord[]): Promise<void> {
  await storage.transaction((tx) => tx.insertRecords(model, records))
}

/** A change-order entry of an `item` record, version 1 unless overridden. */
export const change = (recordId: string, over: Partial<ChangeEntry> = {}): ChangeEntry => ({
  model: 'item',
  recordId,
  version: 1,
  ownerId: null,
  orgId: null,
  deleted: false,
  ...over,
})

/** A history entry of an `item` record at `version`. */
export const history = (recordId: string, version: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  model: 'item',
  recordId,
  version,
  op: version === 1 ? 'create' : 'update',
  changes: { name: { old: version === 1 ? null : `v${version - 1}`, new: `v${version}` } },
  userId: uuidv7(),
  deviceId: 'dev_a',
  requestId: `req-${version}`,
  at: at(version),
  ...over,
})

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Field values that are hard to store: every kind, with its edge cases. */
export function awkwardValues(): Record<string, unknown>[] {
  const id = (): string => uuidv7()
  return [
    {},
    {
      str: `'; DROP TABLE kinds; --`,
      txt: 'Robert"); DROP TABLE "kinds"; -- \\ \\\\ %_ $1 ? :name',
      flag: true,
      count: Number.MAX_SAFE_INTEGER,
      price: '9999999999.99',
      at: '2026-11-23T10:00:00.123Z',
      day: '2026-02-28',
      state: 'todo',
      data: { a: 1, nested: { b: [1, 'two', null, true, 1.5] }, ключ: '✓', quote: `"'` },
      tags: ['a', 'b', 'é'],
      parent: id(),
      ownerId: id(),
      orgId: id(),
    },
    {
      str: 'héllo wörld — 日本語 👩‍👩‍👧 🎉',
      txt: `${'long text '.repeat(10_000)}end`,
      flag: false,
      count: Number.MIN_SAFE_INTEGER,
      price: '-0.01',
      at: '0001-01-01T00:00:00.000Z',
      day: '0001-01-01',
      state: 'done',
      data: [],
      tags: [],
      parent: null,
      ownerId: id(),
      orgId: null,
    },
    {
      str: '',
      txt: 'line\nbreak\ttab\r\n',
      count: 0,
      price: '-12.50',
      at: '9999-12-31T23:59:59.999Z',
      day: '9999-12-31',
      data: 'just a string',
      tags: ['only'],
    },
    { price: '0.00', data: 0, count: -1 },
    { data: false, price: '12.50' },
    { data: {}, price: '-9999999999.99' },
    { data: [{ deep: [[[]]] }, 'x', -0.5, 1e21] },
  ]
}

/** The element at `index`; throws when there is none (a test's own mistake). */
export function nth<T>(list: readonly T[], index: number): T {
  if (index < 0 || index >= list.length) throw new Error(`no element ${index} in a list of ${list.length}`)
  return list[index] as T
}
