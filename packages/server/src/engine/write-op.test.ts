import { defineModel, defineSchema, f } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import { checkOp, midOf, targetOf, type WriteOp } from './write-op.ts'

const note = defineModel('note', { fields: { title: f.string({ default: '' }) } })
const schema = defineSchema([note])
const ID = '0192F0B4-1C6A-7000-8000-000000000001'
const SERVER_AT = '2026-06-01T12:00:00.000000Z'
const sync = (over: Record<string, unknown> = {}) => ({ mid: 1, vclock: { dev_a: 1 }, at: '2026-06-01T11:00:00.000Z', ...over })

function code(op: WriteOp, clientId: string | null = 'dev_a'): string | undefined {
  const checked = checkOp(schema, op, clientId ?? undefined, SERVER_AT)
  return checked.ok ? undefined : checked.error.code
}

describe('checkOp: an op checked before any transaction', () => {
  it('lower-cases ids, keeps the sync metadata, names the device, and clamps a future at to the server’s HLC time (§4)', () => {
    const checked = checkOp(
      schema,
      { op: 'update', model: 'note', id: ID, data: { title: 'a' }, sync: sync({ baseVersion: 2, at: '2030-01-01T00:00:00.000Z' }) },
      'dev_a',
      SERVER_AT,
    )
    expect(checked).toMatchObject({
      ok: true,
      op: {
        kind: 'update',
        id: ID.toLowerCase(),
        sync: { mid: 1, baseVersion: 2, vclock: { dev_a: 1 }, at: SERVER_AT, deviceId: 'dev_a' },
      },
    })
    const past = checkOp(schema, { op: 'delete', model: 'note', id: ID, sync: sync() }, 'dev_a', SERVER_AT)
    expect(past.ok && past.op.kind === 'delete' && past.op.sync?.at).toBe('2026-06-01T11:00:00.000000Z')
  })

  it('refuses, as data: a synced op without a device, an at that is no timestamp, clock text no database stores', () => {
    expect(code({ op: 'delete', model: 'note', id: ID, sync: sync() }, null)).toBe('bad_request')
    expect(code({ op: 'delete', model: 'note', id: ID, sync: sync({ at: 'yesterday' }) })).toBe('bad_request')
    expect(code({ op: 'delete', model: 'note', id: ID, sync: sync({ vclock: { 'dev\u0000': 1 } }) })).toBe('validation_failed')
  })

  it('refuses an unknown model, a bad id, ids that differ, data that breaks the model, a bad If-Match version, a bad choice', () => {
    expect(code({ op: 'create', model: 'widget', data: {} })).toBe('not_found')
    expect(code({ op: 'update', model: 'note', id: 'nope', data: {} })).toBe('invalid_id')
    expect(code({ op: 'create', model: 'note', id: ID, data: { id: '0192f0b4-1c6a-7000-8000-000000000002' } })).toBe('bad_request')
    expect(code({ op: 'update', model: 'note', id: ID, data: { title: 7 } })).toBe('validation_failed')
    expect(code({ op: 'delete', model: 'note', id: ID, ifVersion: 0 })).toBe('bad_request')
    expect(code({ op: 'resolve', conflictId: ID, choice: 'mine' as 'local' })).toBe('bad_request')
  })

  it('names the mid and the target of an op, for duplicates of refused ones (§4)', () => {
    const op: WriteOp = { op: 'update', model: 'note', id: ID, data: { title: 7 }, sync: sync({ mid: 4 }) }
    expect(midOf(op)).toBe(4)
    expect(targetOf(schema, op)).toEqual({ model: note, id: ID.toLowerCase() })
    expect(targetOf(schema, { ...op, model: 'widget' })).toBeUndefined()
    expect(midOf({ op: 'resolve', conflictId: ID, choice: 'local' })).toBeUndefined()
  })
})
