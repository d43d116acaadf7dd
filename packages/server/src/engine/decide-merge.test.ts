/**
 * `decide` without a database: every §5 merge policy, on a concurrent pushed update of a
 * contested field. The server changed the field at version 2 (device `dev_b`, at `SERVER_EDIT`);
 * the pushing device edited it from version 1 (its clock `{ dev_a: 2 }` against the record's
 * `{ dev_a: 1, dev_b: 1 }`: CONCURRENT). The base comes from the history `decide` is given.
 */
import { defineModel, defineSchema, f } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { HistoryEntry, StoredRecord } from '../storage/storage.ts'
import { SYSTEM_ACTOR } from './context.ts'
import { decide } from './decide.ts'
import type { Accepted, DecideContext, Decision } from './decision.ts'
import { checkOp } from './write-op.ts'

const ID = '0192f0b4-1c6a-7000-8000-000000000001'
const SERVER_EDIT = '2026-06-01T10:00:00.000000Z'
const BEFORE_SERVER = '2026-06-01T09:00:00.000000Z'
const AFTER_SERVER = '2026-06-01T11:00:00.000000Z'

const note = defineModel('note', {
  fields: {
    title: f.string({ nullable: true }), // lww (the default)
    body: f.text({ nullable: true, merge: 'text' }), // text, falling back to lww
    summary: f.text({ nullable: true, merge: { policy: 'text', fallback: 'serverWins' } }),
    priority: f.integer({ nullable: true, merge: 'max' }),
    due: f.date({ nullable: true, merge: 'min' }),
    tags: f.set({ nullable: true, merge: 'union' }),
    status: f.enum(['todo', 'doing', 'done'], { nullable: true, merge: 'state' }),
    owner: f.string({ nullable: true, merge: 'serverWins' }),
    color: f.string({ nullable: true, merge: 'clientWins' }),
    secret: f.string({ nullable: true, merge: 'manual' }),
    score: f.integer({
      nullable: true,
      merge: (base, server, client) => (server as number) + (client as number) - ((base as number | null) ?? 0),
    }),
  },
})
const schema = defineSchema([note])

const context: DecideContext = {
  schema,
  actor: SYSTEM_ACTOR,
  requestId: null,
  clientId: 'dev_a',
  lastMid: 0,
  nowIso: '2026-06-01T12:00:00.000Z',
  serverAt: '2026-06-01T12:00:00.000000Z',
  newId: () => '0192f0b4-1c6a-7000-8000-00000000c0f1',
}

/**
 * Decides a push by `device` (at `at`) setting `field` to `client`, where the base was `base`
 * and the server has since set it to `server` (or `history: false`: the base is unknown).
 */
function decideConcurrent(
  field: string,
  values: { base: unknown; server: unknown; client: unknown },
  options: { at?: string; device?: string; history?: boolean } = {},
): Decision {
  const device = options.device ?? 'dev_a'
  const record: StoredRecord = {
    id: ID,
    version: 2,
    vclock: { dev_a: 1, dev_b: 1 },
    createdAt: BEFORE_SERVER,
    updatedAt: SERVER_EDIT,
    deletedAt: null,
    fieldVersions: { [field]: 2 },
    values: { [field]: values.server },
  }
  const history: HistoryEntry[] =
    options.history === false
      ? []
      : [
          {
            model: 'note',
            recordId: ID,
            version: 2,
            op: 'update',
            changes: { [field]: { old: values.base, new: values.server } },
            userId: null,
            deviceId: 'dev_b',
            requestId: null,
            at: SERVER_EDIT,
          },
        ]
  const sync = { mid: 1, baseVersion: 1, vclock: { [device]: 2 }, at: options.at ?? AFTER_SERVER }
  const checked = checkOp(schema, { op: 'update', model: 'note', id: ID, data: { [field]: values.client }, sync }, device, context.serverAt)
  if (!checked.ok) throw checked.error
  return decide(checked.op, { record, history }, { ...context, clientId: device })
}

function concurrent(
  field: string,
  values: { base: unknown; server: unknown; client: unknown },
  options?: Parameters<typeof decideConcurrent>[2],
): Accepted {
  const d = decideConcurrent(field, values, options)
  if (!d.ok) throw new Error(`refused: ${d.error.code} ${d.error.message}`)
  return d
}

const merged = (field: string, values: { base: unknown; server: unknown; client: unknown }, options?: Parameters<typeof concurrent>[2]) => {
  const d = concurrent(field, values, options)
  expect(d.status).toBe('merged')
  // The record's clock with the pushing device's entry one up (§5 clock rules).
  const device = options?.device ?? 'dev_a'
  expect(d.record?.vclock).toEqual({ dev_a: 1, dev_b: 1, [device]: device === 'dev_a' ? 2 : 1 })
  return d.record?.values[field]
}

describe('decide: §5 merge policies of a contested field', () => {
  it('lww: the later at wins; equal at: the larger device id', () => {
    expect(merged('title', { base: 'b', server: 's', client: 'c' }, { at: AFTER_SERVER })).toBe('c')
    expect(merged('title', { base: 'b', server: 's', client: 'c' }, { at: BEFORE_SERVER })).toBe('s')
    expect(merged('title', { base: 'b', server: 's', client: 'c' }, { at: SERVER_EDIT, device: 'dev_a' })).toBe('s') // dev_b > dev_a
    expect(merged('title', { base: 'b', server: 's', client: 'c' }, { at: SERVER_EDIT, device: 'dev_c' })).toBe('c') // dev_c > dev_b
  })

  it('an at in the future is clamped to the server’s HLC time before it is compared (§4)', () => {
    const d = concurrent('title', { base: 'b', server: 's', client: 'c' }, { at: '2099-01-01T00:00:00.000Z' })
    expect(d.change?.history?.at).toBe(context.serverAt)
  })

  it('serverWins and clientWins: as named', () => {
    expect(merged('owner', { base: 'b', server: 's', client: 'c' }, { at: AFTER_SERVER })).toBe('s')
    expect(merged('color', { base: 'b', server: 's', client: 'c' }, { at: BEFORE_SERVER })).toBe('c')
  })

  it('max and min: the larger / smaller value wins, whatever the times; null loses to a value', () => {
    expect(merged('priority', { base: 1, server: 5, client: 3 })).toBe(5)
    expect(merged('priority', { base: 1, server: 2, client: 3 }, { at: BEFORE_SERVER })).toBe(3)
    expect(merged('due', { base: null, server: '2026-03-01', client: '2026-02-01' }, { at: BEFORE_SERVER })).toBe('2026-02-01')
    expect(merged('due', { base: '2026-01-01', server: '2026-03-01', client: null })).toBe('2026-03-01')
  })

  it('union: additions from both sides kept, removals from either applied (three-way against the base)', () => {
    expect(merged('tags', { base: ['a', 'b'], server: ['a', 'b', 's'], client: ['b', 'c'] })).toEqual(['b', 'c', 's'])
  })

  it('text: edits of different parts merge; overlapping edits fall back to the field’s fallback policy', () => {
    const base = 'the quick fox jumps'
    expect(merged('body', { base, server: 'the quick brown fox jumps', client: 'the quick fox jumps high' })).toBe(
      'the quick brown fox jumps high',
    )
    // Overlapping: lww (the default fallback) takes the later edit, here the client's.
    expect(merged('body', { base, server: 'the slow fox jumps', client: 'the lazy fox jumps' })).toBe('the lazy fox jumps')
    // A declared fallback: serverWins, though the client's edit is later.
    expect(merged('summary', { base, server: 'the slow fox jumps', client: 'the lazy fox jumps' })).toBe('the slow fox jumps')
    // No history kept: the base is unknown, so the fallback settles it.
    expect(merged('summary', { base, server: 'the quick brown fox jumps', client: 'a fox' }, { history: false })).toBe(
      'the quick brown fox jumps',
    )
  })

  it('state: the value further along the declared order wins', () => {
    expect(merged('status', { base: 'todo', server: 'doing', client: 'done' }, { at: BEFORE_SERVER })).toBe('done')
    expect(merged('status', { base: 'todo', server: 'done', client: 'doing' })).toBe('done')
  })

  it('custom: the model’s function settles it (an additive counter), and its value must still fit the field', () => {
    expect(merged('score', { base: 10, server: 12, client: 15 })).toBe(17)
    const unfit = decideConcurrent('score', { base: 0, server: Number.MAX_SAFE_INTEGER, client: 5 })
    expect(unfit.ok ? unfit.status : unfit.error.code).toBe('validation_failed')
  })

  it('manual: the server value is kept and a conflict opened; equal values on both sides settle without one', () => {
    const d = concurrent('secret', { base: 'b', server: 's', client: 'c' })
    expect(d.status).toBe('conflict')
    expect(d.record?.values.secret).toBe('s')
    expect(d.conflict).toMatchObject({ fields: ['secret'], base: { secret: 'b' }, local: { secret: 'c' }, remote: { secret: 's' } })
    const same = concurrent('secret', { base: 'b', server: 's', client: 's' })
    expect(same.status).toBe('merged')
    expect(same.conflict).toBeUndefined()
  })
})
