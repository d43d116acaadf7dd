import type { Mutation } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { BatchBuilder } from './batch-builder.ts'
import { Outbox } from './outbox.ts'
import type { OutboxEntry, OutboxStatus } from './stores/local-store.ts'

function entry(mid: number, id: string, status: OutboxStatus = 'PENDING', nextAttemptAt = 0): OutboxEntry {
  const mutation: Mutation = {
    mid,
    model: 'note',
    op: 'update',
    id,
    baseVersion: 1,
    vclock: { d: mid },
    data: { n: mid },
    at: '2026-11-23T10:00:00.000Z',
  }
  return { mutation, status, attempts: status === 'PENDING' ? 0 : 1, lastError: null, nextAttemptAt, createdAt: '2026-11-23T10:00:00.000Z' }
}
const mids = (entries: readonly OutboxEntry[]) => entries.map((e) => e.mutation.mid)

describe('Outbox', () => {
  it('loads in mid order, puts SYNCING entries of a previous run back to PENDING, and hands out mids above all', () => {
    const batch = new BatchBuilder()
    const outbox = new Outbox([entry(5, 'b', 'SYNCING'), entry(2, 'a')], 3, batch)
    expect(mids(outbox.list())).toEqual([2, 5])
    expect(outbox.get(5)?.status).toBe('PENDING')
    expect(batch.toBatch().outbox).toEqual([{ mid: 5, entry: { ...entry(5, 'b', 'SYNCING'), status: 'PENDING' } }])
    expect(outbox.allocateMid(batch)).toBe(6)
    outbox.raiseNextMid(20, batch)
    expect(outbox.allocateMid(batch)).toBe(21)
    outbox.raiseNextMid(3, batch)
    expect(outbox.allocateMid(batch)).toBe(22)
    expect(batch.toBatch().meta).toEqual([
      { key: 'nextMid', value: 23 },
      { key: 'lastMidKnown', value: true },
    ])
    expect(outbox.knowsLastMid).toBe(true)
  })

  it('adopts the first lastMid it hears: unsent mids at or below it move above it, with every later one, in order', () => {
    const batch = new BatchBuilder()
    const sent = { ...entry(4, 'c'), attempts: 1 }
    const outbox = new Outbox([entry(1, 'a'), entry(2, 'b', 'REJECTED'), entry(3, 'a'), sent, entry(9, 'd')], 10, batch, 'legacy')
    expect(outbox.knowsLastMid).toBe(false)
    // The server recorded mid 3 for this device (from an earlier store): 1 and 3 were never sent from here.
    expect(outbox.adoptLastMid(3, batch)).toBe(4)
    expect(mids(outbox.list())).toEqual([2, 10, 11, 12, 13])
    expect(outbox.list().map((e) => e.mutation.id)).toEqual(['b', 'a', 'a', 'c', 'd'])
    expect(outbox.get(12)?.attempts).toBe(0)
    expect(outbox.knowsLastMid).toBe(true)
    // Nothing below lastMid waits unsent: nothing moves.
    expect(new Outbox([entry(7, 'a')], 8, new BatchBuilder()).adoptLastMid(3, new BatchBuilder())).toBe(0)
    // A store that never sent anything: attempts (refused handshakes) do not matter.
    const fresh = new Outbox([{ ...entry(1, 'a'), attempts: 2 }], 2, new BatchBuilder(), 'unsent')
    expect(fresh.adoptLastMid(5, new BatchBuilder())).toBe(1)
    expect(mids(fresh.list())).toEqual([6])
  })

  it('indexes entries by record, oldest first', () => {
    const batch = new BatchBuilder()
    const outbox = new Outbox([entry(1, 'a'), entry(2, 'b'), entry(3, 'a')], 1, batch)
    expect(mids(outbox.forRecord('note', 'a'))).toEqual([1, 3])
    expect(outbox.lastFor('note', 'a')?.mutation.mid).toBe(3)
    outbox.remove(3, batch)
    expect(outbox.lastFor('note', 'a')?.mutation.mid).toBe(1)
    outbox.remove(1, batch)
    expect(outbox.forRecord('note', 'a')).toEqual([])
  })

  it('takes batches in mid order: skips FAILED, stops at the first entry still backing off, respects the size', () => {
    const batch = new BatchBuilder()
    const outbox = new Outbox(
      [entry(1, 'a', 'FAILED'), entry(2, 'b'), entry(3, 'c'), entry(4, 'd', 'PENDING', 5000), entry(5, 'e')],
      1,
      batch,
    )
    expect(mids(outbox.takeBatch(1000, 100))).toEqual([2, 3])
    expect(mids(outbox.takeBatch(1000, 1))).toEqual([2])
    expect(mids(outbox.takeBatch(6000, 100))).toEqual([2, 3, 4, 5])
    expect(outbox.nextDueAt()).toBe(0)
    // A size cap: the first always goes, then as many as fit.
    const size = JSON.stringify(entry(2, 'b').mutation).length
    expect(mids(outbox.takeBatch(6000, 100, 1))).toEqual([2])
    expect(mids(outbox.takeBatch(6000, 100, size * 2 + 1))).toEqual([2, 3])
    expect(outbox.counts()).toEqual({ pending: 4, failed: 1, rejected: 0 })
  })

  it('renumbers an entry to a fresh mid at the end, PENDING with no attempts', () => {
    const batch = new BatchBuilder()
    const outbox = new Outbox([entry(1, 'a', 'FAILED'), entry(2, 'b')], 3, batch)
    const moved = outbox.renumber(outbox.get(1) as OutboxEntry, batch)
    expect(moved).toMatchObject({ status: 'PENDING', attempts: 0, mutation: { mid: 3, id: 'a' } })
    expect(mids(outbox.list())).toEqual([2, 3])
    expect(outbox.counts()).toEqual({ pending: 2, failed: 0, rejected: 0 })
    expect(batch.toBatch().outbox.map((w) => [w.mid, w.entry?.mutation.mid ?? null])).toEqual([
      [1, null],
      [3, 3],
    ])
  })

  it('keeps REJECTED entries out of the record’s edits and out of batches, counted apart', () => {
    const batch = new BatchBuilder()
    const outbox = new Outbox([entry(1, 'a'), entry(2, 'a'), entry(3, 'b', 'FAILED')], 1, batch)
    outbox.put({ ...(outbox.get(1) as OutboxEntry), status: 'REJECTED', lastError: { code: 'forbidden', message: 'no' } }, batch)
    expect(mids(outbox.forRecord('note', 'a'))).toEqual([2])
    expect(outbox.lastFor('note', 'a')?.mutation.mid).toBe(2)
    expect(mids(outbox.takeBatch(0, 100))).toEqual([2])
    expect(mids(outbox.refused())).toEqual([1, 3])
    expect(outbox.counts()).toEqual({ pending: 1, failed: 1, rejected: 1 })
    // Sent again: back among the record's edits, at a new mid.
    const moved = outbox.renumber(outbox.get(1) as OutboxEntry, batch)
    expect(moved).toMatchObject({ status: 'PENDING', lastError: null, mutation: { mid: 4 } })
    expect(mids(outbox.forRecord('note', 'a'))).toEqual([2, 4])
    expect(outbox.counts()).toEqual({ pending: 2, failed: 1, rejected: 0 })
  })
})
