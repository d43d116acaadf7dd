/**
 * The conformance suite every LocalStore passes: `runLocalStoreSuite(name, makeStore)`. Each
 * implementation's test file is its setup plus this call; the browser test runs it against
 * the real IndexedDB.
 */
import { describe, expect, it } from 'vitest'
import type { LocalRecord } from '../local-record.ts'
import { abortController } from '../platform.ts'
import type { LocalStore, OutboxEntry, StoreBatch, StoredRow } from './local-store.ts'

/** A fresh, empty store, and (for stores that persist) a way to open it again once closed. */
export interface SuiteStore {
  store: LocalStore
  /** Opens the same data again after `store.close()`; absent for stores that keep nothing. */
  reopen?: () => Promise<LocalStore> | LocalStore
}

const T0 = '2026-11-23T10:00:00.000Z'

function record(id: string, fields: Record<string, unknown> = {}, version = 1): LocalRecord {
  return {
    id,
    version,
    vclock: { dev: version },
    createdAt: T0,
    updatedAt: T0,
    deletedAt: null,
    localOnly: false,
    syncError: null,
    ...fields,
  }
}

function row(model: string, id: string, fields: Record<string, unknown> = {}, version = 1): StoredRow {
  return { model, record: record(id, fields, version) }
}

function entry(mid: number, id: string, status: OutboxEntry['status'] = 'PENDING'): OutboxEntry {
  return {
    mutation: { mid, model: 'note', op: 'update', id, baseVersion: 1, vclock: { dev: mid }, data: { title: `t${mid}` }, at: T0 },
    status,
    attempts: 0,
    lastError: null,
    nextAttemptAt: 0,
    createdAt: T0,
  }
}

function batch(parts: Partial<StoreBatch>): StoreBatch {
  return { records: [], outbox: [], meta: [], ...parts }
}

const put = (r: StoredRow) => ({ model: r.model, id: r.record.id, row: r })

/** Runs the LocalStore conformance tests against stores made by `makeStore`. */
export function runLocalStoreSuite(name: string, makeStore: () => Promise<SuiteStore> | SuiteStore): void {
  describe(`LocalStore conformance: ${name}`, () => {
    const withStore = async (fn: (store: LocalStore, made: SuiteStore) => Promise<void>) => {
      const made = await makeStore()
      try {
        await fn(made.store, made)
      } finally {
        await made.store.close()
      }
    }

    it('starts empty', () =>
      withStore(async (store) => {
        expect(await store.getRecord('note', 'a')).toBeUndefined()
        expect(await store.scanRecords('note')).toEqual([])
        expect(await store.listOutbox()).toEqual([])
        expect(await store.getMeta('cursor')).toBeUndefined()
      }))

    it('puts, reads back, overwrites and deletes records, by model and id', () =>
      withStore(async (store) => {
        const a = row('note', 'a', { title: 'A', tags: ['x', 'y'], extra: { nested: [1, null, 'é'] } })
        const server = record('a', { title: 'server' })
        await store.commit(batch({ records: [put(a), put(row('memo', 'a', { text: 'other model' }))] }))
        expect(await store.getRecord('note', 'a')).toEqual(a)
        expect((await store.getRecord('memo', 'a'))?.record.text).toBe('other model')
        const edited: StoredRow = { model: 'note', record: { ...a.record, title: 'A2', localOnly: true }, server }
        await store.commit(batch({ records: [put(edited)] }))
        expect(await store.getRecord('note', 'a')).toEqual(edited)
        await store.commit(batch({ records: [{ model: 'note', id: 'a', row: null }] }))
        expect(await store.getRecord('note', 'a')).toBeUndefined()
        expect(await store.getRecord('memo', 'a')).toBeDefined()
        // Deleting what is not there is not an error.
        await store.commit(batch({ records: [{ model: 'note', id: 'missing', row: null }] }))
      }))

    it('scans one model in id order, tombstones included', () =>
      withStore(async (store) => {
        const ids = ['0193-c', '0193-a', '0193-b', '0193-aa']
        await store.commit(
          batch({
            records: [
              ...ids.map((id) => put(row('note', id))),
              put(row('note', '0193-d', { deletedAt: T0 })),
              put(row('memo', '0193-0')),
              put(row('notes', '0193-1')),
            ],
          }),
        )
        const scanned = await store.scanRecords('note')
        expect(scanned.map((r) => r.record.id)).toEqual(['0193-a', '0193-aa', '0193-b', '0193-c', '0193-d'])
        expect(scanned.every((r) => r.model === 'note')).toBe(true)
        expect(scanned[4]?.record.deletedAt).toBe(T0)
      }))

    it('keeps outbox entries in mid order, updates and deletes them', () =>
      withStore(async (store) => {
        await store.commit(batch({ outbox: [10, 2, 7].map((mid) => ({ mid, entry: entry(mid, `r${mid}`) })) }))
        expect((await store.listOutbox()).map((e) => e.mutation.mid)).toEqual([2, 7, 10])
        const syncing = { ...entry(7, 'r7', 'SYNCING'), attempts: 1, lastError: { code: 'internal_error', message: 'x' } }
        await store.commit(
          batch({
            outbox: [
              { mid: 7, entry: syncing },
              { mid: 2, entry: null },
            ],
          }),
        )
        expect(await store.listOutbox()).toEqual([syncing, entry(10, 'r10')])
      }))

    it('keeps meta values of every JSON kind; null deletes', () =>
      withStore(async (store) => {
        const values = { cursor: 'c1.abc', nextMid: 42, flag: true, list: [1, 'two', null], object: { a: { b: [] } } }
        await store.commit(batch({ meta: Object.entries(values).map(([key, value]) => ({ key, value })) }))
        for (const [key, value] of Object.entries(values)) expect(await store.getMeta(key)).toEqual(value)
        await store.commit(batch({ meta: [{ key: 'cursor', value: null }] }))
        expect(await store.getMeta('cursor')).toBeUndefined()
        expect(await store.getMeta('nextMid')).toBe(42)
      }))

    it('returns copies: changing what was read or written does not change the store', () =>
      withStore(async (store) => {
        const a = row('note', 'a', { tags: ['x'] })
        await store.commit(batch({ records: [put(a)] }))
        ;(a.record.tags as string[]).push('written later')
        const read = await store.getRecord('note', 'a')
        expect(read).toBeDefined()
        ;((read as StoredRow).record.tags as string[]).push('read later')
        expect((await store.getRecord('note', 'a'))?.record.tags).toEqual(['x'])
      }))

    it('applies a batch all or nothing', () =>
      withStore(async (store) => {
        await store.commit(batch({ meta: [{ key: 'cursor', value: 'before' }] }))
        const poisoned = row('note', 'bad')
        Object.defineProperty(poisoned.record, 'title', {
          enumerable: true,
          get() {
            throw new Error('this value cannot be stored')
          },
        })
        await expect(
          store.commit(
            batch({
              records: [put(row('note', 'good')), put(poisoned)],
              outbox: [{ mid: 1, entry: entry(1, 'good') }],
              meta: [{ key: 'cursor', value: 'after' }],
            }),
          ),
        ).rejects.toThrow()
        expect(await store.getRecord('note', 'good')).toBeUndefined()
        expect(await store.listOutbox()).toEqual([])
        expect(await store.getMeta('cursor')).toBe('before')
        // The store still works afterwards.
        await store.commit(batch({ records: [put(row('note', 'good'))] }))
        expect(await store.getRecord('note', 'good')).toBeDefined()
      }))

    it('applies commits in call order, and reads see every commit that resolved', () =>
      withStore(async (store) => {
        const commits = Array.from({ length: 20 }, (_, i) =>
          store.commit(batch({ records: [put(row('note', 'a', { n: i }, i + 1))], meta: [{ key: 'n', value: i }] })),
        )
        await Promise.all(commits)
        expect((await store.getRecord('note', 'a'))?.record.n).toBe(19)
        expect(await store.getMeta('n')).toBe(19)
      }))

    it('holds a large batch (2,000 records) and scans it whole', () =>
      withStore(async (store) => {
        const rows = Array.from({ length: 2000 }, (_, i) => row('note', `id-${String(i).padStart(5, '0')}`, { n: i }))
        await store.commit(batch({ records: rows.map(put), meta: [{ key: 'cursor', value: 'c1.2000' }] }))
        const scanned = await store.scanRecords('note')
        expect(scanned.length).toBe(2000)
        expect(scanned[1999]?.record.n).toBe(1999)
      }))

    it('refuses an aborted signal and writes nothing', () =>
      withStore(async (store) => {
        const controller = abortController()
        controller.abort()
        await expect(store.commit(batch({ records: [put(row('note', 'a'))] }), controller.signal)).rejects.toThrow()
        await expect(store.getRecord('note', 'a', controller.signal)).rejects.toThrow()
        expect(await store.getRecord('note', 'a')).toBeUndefined()
      }))

    it('rejects every call once closed', async () => {
      const { store } = await makeStore()
      await store.commit(batch({ meta: [{ key: 'k', value: 1 }] }))
      await store.close()
      await expect(store.getMeta('k')).rejects.toThrow()
      await expect(store.commit(batch({ meta: [{ key: 'k', value: 2 }] }))).rejects.toThrow()
      await store.close() // closing twice is harmless
    })

    it('finishes commits called before close', async () => {
      const made = await makeStore()
      const pending = made.store.commit(batch({ records: [put(row('note', 'late'))], meta: [{ key: 'cursor', value: 'c1.9' }] }))
      await made.store.close()
      await pending
      if (!made.reopen) return
      const again = await made.reopen()
      try {
        expect(await again.getRecord('note', 'late')).toBeDefined()
      } finally {
        await again.close()
      }
    })

    it('keeps everything across a close and reopen (persistent stores)', async () => {
      const made = await makeStore()
      const a = row('note', 'a', { title: 'kept' })
      await made.store.commit(
        batch({ records: [put(a)], outbox: [{ mid: 3, entry: entry(3, 'a') }], meta: [{ key: 'clientId', value: 'dev-1' }] }),
      )
      await made.store.close()
      if (!made.reopen) return
      const again = await made.reopen()
      try {
        expect(await again.getRecord('note', 'a')).toEqual(a)
        expect(await again.listOutbox()).toEqual([entry(3, 'a')])
        expect(await again.getMeta('clientId')).toBe('dev-1')
      } finally {
        await again.close()
      }
    })
  })
}
