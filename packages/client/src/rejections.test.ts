/**
 * Refused mutations without a server: a refusal keeps the mutation (REJECTED) out of the record,
 * retry and discard put the record back as they should, and a refusal for the caller's scope
 * is sent again once after a scope change — a second refusal is final.
 */
import { defineModel, defineSchema, f, type PushResult } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { createLocal, updateLocal } from './local-writes.ts'
import { discardRefused, refusedEntries, retryAfterScopeChange, retryRefused } from './rejections.ts'
import { loadReplica, type Replica } from './replica.ts'
import { applyPage, applyPushResponse } from './server-apply.ts'
import { createMemoryStore } from './stores/memory-store.ts'

const note = defineModel('note', { fields: { title: f.string({ default: '' }) } })
const schema = defineSchema([note])
const quiet = { conflict: () => {}, rejected: () => {} }

function replicaOn(): Promise<Replica> {
  return loadReplica({
    store: createMemoryStore(),
    schema,
    clientId: 'me',
    onError: (e) => {
      throw e
    },
    listeners: { records: () => {}, outbox: () => {} },
  })
}

/** Sends what may go (as the pusher does) and answers every mutation with `result`. */
async function answerAll(r: Replica, result: (mid: number) => PushResult): Promise<number[]> {
  const sent = r.outbox.takeBatch(Date.now(), 100)
  const txn = r.begin()
  for (const e of sent) r.outbox.put({ ...e, status: 'SYNCING', attempts: e.attempts + 1 }, txn.batch)
  await r.end(txn)
  const mids = sent.map((e) => e.mutation.mid)
  await applyPushResponse(r, { lastMid: Math.max(0, ...mids), results: mids.map(result) }, quiet)
  return mids
}

const forbidden = (mid: number): PushResult => ({ mid, status: 'rejected', error: { code: 'forbidden', message: 'not a member' } })

async function run(r: Replica, fn: (txn: ReturnType<Replica['begin']>) => number): Promise<number> {
  const txn = r.begin()
  const n = fn(txn)
  await r.end(txn)
  return n
}

describe('refused mutations', () => {
  it('a scope refusal is sent again once after a scope change; a second refusal is final', async () => {
    const r = await replicaOn()
    const id = createLocal(r, note, { title: 'in a new org' }).record?.id as string
    const [first] = await answerAll(r, forbidden)
    expect(r.outbox.counts()).toEqual({ pending: 0, failed: 0, rejected: 1 })
    expect(r.live('note', id)).toMatchObject({ localOnly: true, syncError: { code: 'forbidden' } })
    expect(r.outbox.takeBatch(Date.now(), 100)).toEqual([])

    expect(await run(r, (txn) => retryAfterScopeChange(r, txn))).toBe(1)
    const [again] = r.outbox.takeBatch(Date.now(), 100)
    expect(again).toMatchObject({ status: 'PENDING', scopeRetried: true, lastError: null })
    expect(again?.mutation.mid).toBeGreaterThan(first as number)
    expect(again?.mutation).toMatchObject({ op: 'create', id, data: { title: 'in a new org' } })

    await answerAll(r, forbidden)
    expect(await run(r, (txn) => retryAfterScopeChange(r, txn))).toBe(0)
    expect(r.outbox.counts().rejected).toBe(1)
  })

  it('only scope refusals are sent again by themselves', async () => {
    const r = await replicaOn()
    createLocal(r, note, { title: 'bad' })
    await answerAll(r, (mid) => ({ mid, status: 'rejected', error: { code: 'validation_failed', message: 'no' } }))
    expect(await run(r, (txn) => retryAfterScopeChange(r, txn))).toBe(0)
    expect(r.outbox.counts().rejected).toBe(1)
  })

  it('retry puts the edit back on the record; discard shows the server state again', async () => {
    const r = await replicaOn()
    const id = '0193a7e4-0000-7000-8000-00000000000a'
    const at = '2026-11-23T10:00:00.000Z'
    await applyPage(r, {
      changes: [
        { model: 'note', record: { id, version: 1, vclock: { s: 1 }, createdAt: at, updatedAt: at, deletedAt: null, title: 'server' } },
      ],
      cursor: 'c1',
      hasMore: false,
    })
    updateLocal(r, note, id, { title: 'mine' })
    await answerAll(r, forbidden)
    expect(r.live('note', id)).toMatchObject({ title: 'server', syncError: { code: 'forbidden' } })
    await run(r, (txn) => retryRefused(r, txn, refusedEntries(r, undefined, ['rejected'])))
    expect(r.live('note', id)).toMatchObject({ title: 'mine', localOnly: true })
    await answerAll(r, forbidden)
    await run(r, (txn) => discardRefused(r, txn, refusedEntries(r, undefined, ['rejected'])))
    expect(r.live('note', id)).toMatchObject({ title: 'server', localOnly: false, syncError: null })
    expect(r.outbox.list()).toEqual([])
  })
})
