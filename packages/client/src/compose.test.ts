import type { Mutation, WireRecord } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { composeRecord, isoOfAt } from './compose.ts'
import type { OutboxEntry } from './stores/local-store.ts'

const AT = '2026-11-23T10:00:00.000003Z'
const server: WireRecord = {
  id: 'r',
  version: 4,
  vclock: { s: 3, me: 1 },
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-02T00:00:00.000Z',
  deletedAt: null,
  title: 'server',
  n: 1,
}
function pending(op: Mutation['op'], mid: number, data?: Record<string, unknown>): OutboxEntry {
  const mutation: Mutation = { mid, model: 'note', op, id: 'r', vclock: { me: mid + 1 }, at: AT, ...(data ? { data } : {}) }
  return { mutation, status: 'PENDING', attempts: 0, lastError: null, nextAttemptAt: 0, createdAt: AT }
}

describe('composeRecord', () => {
  it('is the server state, flagged as synced, when nothing is pending', () => {
    expect(composeRecord(server, [], null)).toEqual({ ...server, localOnly: false, syncError: null })
  })
  it('applies pending updates in order on top, merges their clocks, and is localOnly', () => {
    const r = composeRecord(server, [pending('update', 1, { title: 'a', n: 2 }), pending('update', 2, { title: 'b' })], null)
    expect(r).toMatchObject({
      title: 'b',
      n: 2,
      version: 4,
      vclock: { s: 3, me: 3 },
      updatedAt: '2026-11-23T10:00:00.000Z',
      localOnly: true,
    })
    expect(Object.isFrozen(r)).toBe(true)
  })
  it('starts a record from a pending create (version 0) and shows a pending delete as a tombstone', () => {
    expect(composeRecord(undefined, [pending('create', 1, { title: 'new' })], null)).toMatchObject({
      id: 'r',
      version: 0,
      title: 'new',
      deletedAt: null,
      localOnly: true,
    })
    expect(composeRecord(server, [pending('delete', 1)], null)?.deletedAt).toBe('2026-11-23T10:00:00.000Z')
    expect(composeRecord(undefined, [pending('update', 1, { title: 'x' })], null)).toBeUndefined()
  })
  it('keeps a never-acknowledged record localOnly with its syncError', () => {
    const created = composeRecord(undefined, [pending('create', 1, { title: 'new' })], null)
    const error = { code: 'validation_failed', message: 'no' }
    expect(composeRecord(created, [], error)).toMatchObject({ localOnly: true, syncError: error })
  })
  it('turns HLC times into millisecond timestamps', () => {
    expect(isoOfAt(AT)).toBe('2026-11-23T10:00:00.000Z')
    expect(isoOfAt('not a time')).toBe('not a time')
  })
})
