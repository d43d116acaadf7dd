/**
 * The replica's bookkeeping without a server: local writes and squashing, pulled changes under
 * pending edits, push answers (rebase, duplicates, rejections), removals, full resyncs, and
 * that the store always holds what memory holds.
 */
import { defineModel, defineSchema, f, type PushResult, type WireRecord } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { createLocal, deleteLocal, updateLocal } from './local-writes.ts'
import { loadReplica, type Replica } from './replica.ts'
import { applyPage, applyPushResponse, finishResync, type PushEvents, startResync } from './server-apply.ts'
import type { LocalStore, OutboxEntry } from './stores/local-store.ts'
import { createMemoryStore } from './stores/memory-store.ts'

const note = defineModel('note', { fields: { title: f.string({ default: '' }), n: f.integer({ default: 0 }) } })
const schema = defineSchema([note])
const ME = 'me'

async function replicaOn(store: LocalStore = createMemoryStore()): Promise<Replica> {
  return loadReplica({
    store,
    schema,
    clientId: ME,
    onError: (e) => {
      throw e
    },
    listeners: { records: () => {}, outbox: () => {} },
  })
}

function serverRecord(id: string, version: number, vclock: Record<string, number>, fields: Record<string, unknown>): WireRecord {
  return { id, version, vclock, createdAt: 'T', updatedAt: '2026-11-23T10:00:00.000Z', deletedAt: null, title: '', n: 0, ...fields }
}

const events = (): PushEvents & { log: string[] } => {
  const log: string[] = []
  return { log, conflict: (e) => log.push(`conflict ${e.conflict.id}`), rejected: (e) => log.push(`rejected ${e.op} ${e.error.code}`) }
}

/** Marks the outbox as sent (as the pusher does) and answers it. */
async function answer(r: Replica, results: (entry: OutboxEntry) => PushResult | undefined, ev: PushEvents = events()): Promise<void> {
  const sent = r.outbox.takeBatch(Date.now(), 100)
  const txn = r.begin()
  for (const e of sent) r.outbox.put({ ...e, status: 'SYNCING', attempts: e.attempts + 1 }, txn.batch)
  await r.end(txn)
  const list = sent.map(results).filter((x): x is PushResult => x !== undefined)
  await applyPushResponse(r, { lastMid: Math.max(0, ...list.map((x) => x.mid)), results: list }, ev)
}

const rows = (r: Replica) => [...r.rowsOf('note')].sort((a, b) => (a.record.id < b.record.id ? -1 : 1))

describe('replica bookkeeping', () => {
  it('squashes edits until a mutation is sent or a server state is taken in', async () => {
    const r = await replicaOn()
    const { record } = createLocal(r, note, { title: 'a' })
    const id = record?.id as string
    updateLocal(r, note, id, { n: 1 })
    expect(r.outbox.list().map((e) => e.mutation)).toMatchObject([{ op: 'create', data: { title: 'a', n: 1 }, vclock: { me: 2 } }])
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'applied', record: serverRecord(id, 1, { me: 2 }, { title: 'a', n: 1 }) }))
    updateLocal(r, note, id, { title: 'b' })
    // A state from elsewhere arrives under the pending edit: the next edit is a mutation of its own.
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(id, 2, { me: 2, other: 1 }, { title: 'a', n: 7 }) }],
      cursor: 'c1',
      hasMore: false,
    })
    expect(r.live('note', id)).toMatchObject({ title: 'b', n: 7, version: 2, vclock: { me: 3, other: 1 }, localOnly: true })
    updateLocal(r, note, id, { n: 8 })
    expect(r.outbox.list().map((e) => [e.mutation.baseVersion, e.mutation.data])).toEqual([
      [1, { title: 'b' }],
      [2, { n: 8 }],
    ])
    // A patch that changes nothing queues nothing.
    updateLocal(r, note, id, { n: 8 })
    expect(r.outbox.list()).toHaveLength(2)
  })

  it('ignores states older than the one it has; keeps pending fields on top of newer ones', async () => {
    const r = await replicaOn()
    const id = '0193a7e4-0000-7000-8000-000000000001'
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(id, 3, { s: 3 }, { title: 'v3' }) }],
      cursor: 'c1',
      hasMore: false,
    })
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(id, 2, { s: 2 }, { title: 'v2' }) }],
      cursor: 'c2',
      hasMore: false,
    })
    expect(r.live('note', id)).toMatchObject({ title: 'v3', version: 3, localOnly: false })
    updateLocal(r, note, id, { title: 'mine' })
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(id, 4, { s: 4 }, { title: 'v4', n: 4 }) }],
      cursor: 'c3',
      hasMore: false,
    })
    expect(r.live('note', id)).toMatchObject({ title: 'mine', n: 4, version: 4, localOnly: true })
    expect(r.row('note', id)?.server).toMatchObject({ title: 'v4', version: 4 })
    expect(r.cursor).toBe('c3')
  })

  it('an answer to an older mutation does not overwrite a newer edit; the newer one is rebased on it', async () => {
    const r = await replicaOn()
    const id = createLocal(r, note, { title: 'a' }).record?.id as string
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'applied', record: serverRecord(id, 1, { me: 1 }, { title: 'a' }) }))
    updateLocal(r, note, id, { title: 'first' })
    const sent = r.outbox.takeBatch(Date.now(), 100)
    const txn = r.begin()
    for (const e of sent) r.outbox.put({ ...e, status: 'SYNCING', attempts: 1 }, txn.batch)
    await r.end(txn)
    updateLocal(r, note, id, { title: 'second' }) // made while the first is in flight: not squashed
    expect(r.outbox.list().map((e) => e.status)).toEqual(['SYNCING', 'PENDING'])
    const first = sent[0]?.mutation.mid as number
    await applyPushResponse(
      r,
      { lastMid: first, results: [{ mid: first, status: 'applied', record: serverRecord(id, 2, { me: 2 }, { title: 'first' }) }] },
      events(),
    )
    expect(r.live('note', id)).toMatchObject({ title: 'second', version: 2, localOnly: true })
    expect(r.outbox.list().map((e) => e.mutation.baseVersion)).toEqual([2])
    // When the answer merged changes from elsewhere, the pending edit keeps its base: they may contest it.
    updateLocal(r, note, id, { n: 5 })
    const [pending] = r.outbox.list()
    await answer(r, () => undefined)
    expect(pending?.mutation.baseVersion).toBe(2)
  })

  it('a duplicate answer to a mutation never sent before gives it a new mid; a retried one is settled', async () => {
    const r = await replicaOn()
    const id = createLocal(r, note, { title: 'a' }).record?.id as string
    const server = serverRecord(id, 1, { me: 1 }, { title: 'a' })
    await applyPushResponse(r, { lastMid: 9, results: [] }, events())
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'duplicate', record: server }))
    expect(r.outbox.list().map((e) => [e.mutation.mid, e.attempts, e.status])).toEqual([[10, 0, 'PENDING']])
    const entry = r.outbox.list()[0] as OutboxEntry
    const txn = r.begin()
    r.outbox.put({ ...entry, attempts: 1 }, txn.batch) // it went out once, unanswered
    await r.end(txn)
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'duplicate', record: server }))
    expect(r.outbox.list()).toEqual([])
    expect(r.live('note', id)).toMatchObject({ version: 1, localOnly: false })
  })

  it('a replayed answer (conflict, refusal) to a mutation never sent before gives it a new mid; to one sent before it is reported', async () => {
    const r = await replicaOn()
    const id = createLocal(r, note, { title: 'a' }).record?.id as string
    const elsewhere = '0193a7e4-0000-7000-8000-0000000000ee'
    const opened = (recordId: string) => ({
      id: `c-${recordId}`,
      model: 'note',
      recordId,
      fields: ['title'],
      base: {},
      local: {},
      remote: {},
      clientId: ME,
      userId: null,
      createdAt: 'T',
      status: 'open' as const,
    })
    const ev = events()
    // An earlier store of this device used the mid; its edit of another record opened a conflict.
    await answer(
      r,
      (e) => ({
        mid: e.mutation.mid,
        status: 'conflict',
        record: serverRecord(elsewhere, 3, { me: 1 }, {}),
        conflict: opened(elsewhere),
        replayed: true,
      }),
      ev,
    )
    expect(ev.log).toEqual([])
    expect(r.outbox.list().map((e) => [e.mutation.mid, e.attempts, e.status, e.mutation.id])).toEqual([[2, 0, 'PENDING', id]])
    // So does a refusal of that earlier mutation, answered again: the edit is not taken as refused.
    await answer(
      r,
      (e) => ({ mid: e.mutation.mid, status: 'rejected', error: { code: 'forbidden', message: 'not yours' }, replayed: true }),
      ev,
    )
    expect(ev.log).toEqual([])
    expect(r.outbox.list().map((e) => [e.mutation.mid, e.attempts, e.status])).toEqual([[3, 0, 'PENDING']])
    // Its own conflict, answered again after a lost answer (it went out once before), is reported.
    const txn = r.begin()
    r.outbox.put({ ...(r.outbox.list()[0] as OutboxEntry), attempts: 1 }, txn.batch)
    await r.end(txn)
    await answer(
      r,
      (e) => ({
        mid: e.mutation.mid,
        status: 'conflict',
        record: serverRecord(id, 1, { me: 1 }, { title: 'a' }),
        conflict: opened(id),
        replayed: true,
      }),
      ev,
    )
    expect(ev.log).toEqual([`conflict c-${id}`])
    expect(r.outbox.list()).toEqual([])
  })

  it('rejections: a create stays localOnly with syncError; an update falls back to the server state', async () => {
    const r = await replicaOn()
    const ev = events()
    const id = createLocal(r, note, { title: 'a' }).record?.id as string
    const error = { code: 'validation_failed', message: 'no' }
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'rejected', error }), ev)
    expect(r.live('note', id)).toMatchObject({ title: 'a', localOnly: true, syncError: error })
    const other = '0193a7e4-0000-7000-8000-000000000002'
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(other, 1, { s: 1 }, { title: 'server' }) }],
      cursor: 'c',
      hasMore: false,
    })
    updateLocal(r, note, other, { title: 'bad' })
    await answer(r, (e) => ({ mid: e.mutation.mid, status: 'rejected', error }), ev)
    expect(r.live('note', other)).toMatchObject({ title: 'server', localOnly: false, syncError: error })
    expect(ev.log).toEqual(['rejected create validation_failed', 'rejected update validation_failed'])
  })

  it('a removal drops the local copy; deleting a never-sent create drops both', async () => {
    const r = await replicaOn()
    const id = '0193a7e4-0000-7000-8000-000000000003'
    await applyPage(r, { changes: [{ model: 'note', record: serverRecord(id, 1, { s: 1 }, {}) }], cursor: 'c', hasMore: false })
    await applyPage(r, { changes: [{ model: 'note', record: { id }, removed: true }], cursor: 'c2', hasMore: false })
    expect(r.row('note', id)).toBeUndefined()
    const local = createLocal(r, note, { title: 'gone' }).record?.id as string
    deleteLocal(r, note, local)
    expect(r.row('note', local)).toBeUndefined()
    expect(r.outbox.list()).toEqual([])
  })

  it('a full resync drops what the snapshot lacks, keeps pending and never-synced records, and persists the cursor at the end', async () => {
    const store = createMemoryStore()
    const r = await replicaOn(store)
    const ids = ['01', '02', '03'].map((s) => `0193a7e4-0000-7000-8000-0000000000${s}`)
    await applyPage(r, {
      changes: ids.map((id) => ({ model: 'note', record: serverRecord(id, 1, { s: 1 }, {}) })),
      cursor: 'old',
      hasMore: false,
    })
    updateLocal(r, note, ids[1] as string, { title: 'pending' })
    const unsent = createLocal(r, note, { title: 'new' }).record?.id as string
    await startResync(r)
    await applyPage(r, {
      changes: [{ model: 'note', record: serverRecord(ids[2] as string, 2, { s: 2 }, {}) }],
      cursor: 'new',
      hasMore: false,
    })
    await r.flushed()
    expect(await store.getMeta('cursor')).toBeUndefined() // a restart now starts the resync over
    await finishResync(r)
    expect(
      rows(r)
        .map((row) => row.record.id)
        .sort(),
    ).toEqual([ids[1], ids[2], unsent].sort())
    await r.flushed()
    expect(await store.getMeta('cursor')).toBe('new')
    expect(await store.getMeta('resync')).toBeUndefined()
  })

  it('keeps the store equal to memory: a reload shows the same records, outbox and cursor', async () => {
    const store = createMemoryStore()
    const r = await replicaOn(store)
    const a = createLocal(r, note, { title: 'a' }).record?.id as string
    const b = createLocal(r, note, { title: 'b' }).record?.id as string
    await answer(r, (e) => ({
      mid: e.mutation.mid,
      status: 'applied',
      record: serverRecord(e.mutation.id, 1, { me: 1 }, e.mutation.data ?? {}),
    }))
    updateLocal(r, note, a, { n: 2 })
    deleteLocal(r, note, b)
    await applyPage(r, { changes: [], cursor: 'c9', hasMore: false })
    await r.flushed()
    const again = await replicaOn(store)
    expect(rows(again)).toEqual(rows(r))
    expect(again.outbox.list()).toEqual(r.outbox.list())
    expect(again.cursor).toBe('c9')
    expect(createLocal(again, note, {}).record).toBeDefined()
    expect(again.outbox.list().map((e) => e.mutation.mid)).toEqual([3, 4, 5])
  })
})
