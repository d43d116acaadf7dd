/**
 * `decide` without a database: every §4 status, the REST paths (§10 If-Match, §8 scope and
 * id_taken, §5 onDeleted), conflict resolution, and the §5 clock rules, on records built here.
 * The §5 merge policies are in `decide-merge.test.ts`.
 */
import { type Conflict, defineModel, defineSchema, f, type VectorClock } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { HistoryEntry, StoredRecord } from '../storage/storage.ts'
import { type Actor, SYSTEM_ACTOR } from './context.ts'
import { decide, duplicateOf, historySince } from './decide.ts'
import type { Accepted, Current, DecideContext, Decision } from './decision.ts'
import { checkOp, type PreparedOp, type WriteOp } from './write-op.ts'

const U1 = '0192f0b4-1c6a-7000-8000-0000000000a1'
const U2 = '0192f0b4-1c6a-7000-8000-0000000000a2'
const ID = '0192f0b4-1c6a-7000-8000-000000000001'
const NOW = '2026-06-01T12:00:00.000Z'
const SERVER_AT = '2026-06-01T12:00:00.000000Z'
const EARLIER = '2026-06-01T11:00:00.000000Z'

const task = defineModel('task', {
  fields: { title: f.string({ default: '' }), done: f.boolean({ default: false }), secret: f.string({ nullable: true, merge: 'manual' }) },
})
const memo = defineModel('memo', { fields: { text: f.string({ default: '' }) }, onDeleted: 'updateRevives' })
const diary = defineModel('diary', {
  fields: { userId: f.owner(), text: f.string({ default: '' }), locked: f.boolean({ default: false }) },
  rules: { write: (record) => record.locked !== true },
})
const quiet = defineModel('quiet', { fields: { n: f.integer({ default: 0 }) }, history: false })
const schema = defineSchema([task, memo, diary, quiet])

const user = (userId: string, deviceId: string | null = null): Actor => ({ userId, orgIds: [], deviceId, admin: false })

function context(over: Partial<DecideContext> = {}): DecideContext {
  let n = 0
  return {
    schema,
    actor: SYSTEM_ACTOR,
    requestId: 'req-1',
    clientId: null,
    lastMid: 0,
    nowIso: NOW,
    serverAt: SERVER_AT,
    newId: () => `0192f0b4-1c6a-7000-8000-${String(++n).padStart(12, 'f')}`,
    ...over,
  }
}

/** A pushing device's context (the system actor pushing as `deviceId`, unless `actor` says otherwise). */
const device = (deviceId: string, over: Partial<DecideContext> = {}): DecideContext => context({ clientId: deviceId, ...over })

function stored(model: string, values: Record<string, unknown>, over: Partial<StoredRecord> = {}): StoredRecord {
  const defaults = schema.model(model).specs
  const full = Object.fromEntries([...defaults].map(([name, spec]) => [name, spec.default ?? null]))
  return {
    id: ID,
    version: 1,
    vclock: { dev_a: 1 },
    createdAt: EARLIER,
    updatedAt: EARLIER,
    deletedAt: null,
    fieldVersions: {},
    values: { ...full, ...values },
    ...over,
  }
}

function prepared(op: WriteOp, c: DecideContext): PreparedOp {
  const checked = checkOp(schema, op, c.clientId ?? undefined, c.serverAt)
  if (!checked.ok) throw checked.error
  return checked.op
}

function run(op: WriteOp, current: Partial<Current>, c: DecideContext = context()): Decision {
  return decide(prepared(op, c), { record: undefined, history: [], ...current }, c)
}

function accepted(d: Decision): Accepted {
  if (!d.ok) throw new Error(`refused: ${d.error.code} ${d.error.message}`)
  return d
}

function refusedCode(d: Decision): string | undefined {
  return d.ok ? undefined : d.error.code
}

const push = (op: 'create' | 'update' | 'delete', vclock: VectorClock, extra: Record<string, unknown> = {}, mid = 1): WriteOp =>
  ({
    op,
    model: 'task',
    id: ID,
    data: {},
    sync: { mid, vclock, at: EARLIER, ...(op === 'create' ? {} : { baseVersion: 1 }) },
    ...extra,
  }) as WriteOp

describe('decide: §4 statuses of pushed mutations', () => {
  it('applied: a create makes version 1, the device’s clock entry 1, a history entry with the device and the edit’s at', () => {
    const d = accepted(run(push('create', { dev_a: 1 }, { data: { title: 'a' } }), {}, device('dev_a')))
    expect(d.status).toBe('applied')
    expect(d.record).toMatchObject({ id: ID, version: 1, vclock: { dev_a: 1 }, createdAt: NOW, deletedAt: null, values: { title: 'a' } })
    expect(d.change?.before).toBeUndefined()
    expect(d.change?.history).toMatchObject({ op: 'create', version: 1, deviceId: 'dev_a', at: EARLIER, requestId: 'req-1' })
    expect(d.change?.history?.changes.title).toEqual({ old: null, new: 'a' })
  })

  it('applied: an update made on the current state (AFTER) moves only the device’s entry and the changed fields’ versions', () => {
    const record = stored('task', { title: 'a' }, { vclock: { dev_a: 1, server: 2 } })
    const d = accepted(run(push('update', { dev_a: 2, server: 2 }, { data: { title: 'b' } }), { record }, device('dev_a')))
    expect(d.status).toBe('applied')
    expect(d.record).toMatchObject({ version: 2, vclock: { dev_a: 2, server: 2 }, fieldVersions: { title: 2 }, values: { title: 'b' } })
    expect(d.change).toMatchObject({
      before: record,
      after: d.record,
      history: { op: 'update', changes: { title: { old: 'a', new: 'b' } } },
    })
  })

  it('applied: a delete on the current state makes a tombstone', () => {
    const d = accepted(run(push('delete', { dev_a: 2 }), { record: stored('task', {}) }, device('dev_a')))
    expect(d.status).toBe('applied')
    expect(d.record).toMatchObject({ version: 2, vclock: { dev_a: 2 }, deletedAt: NOW })
    expect(d.change?.history).toMatchObject({ op: 'delete', changes: {} })
  })

  it('merged: concurrent edits of different fields both apply; a concurrent delete wins', () => {
    const record = stored('task', { title: 'server' }, { version: 2, vclock: { dev_a: 1, dev_b: 1 }, fieldVersions: { title: 2 } })
    const d = accepted(run(push('update', { dev_a: 2 }, { data: { done: true } }), { record }, device('dev_a')))
    expect(d.status).toBe('merged')
    expect(d.record).toMatchObject({ version: 3, vclock: { dev_a: 2, dev_b: 1 }, values: { title: 'server', done: true } })
    const del = accepted(run(push('delete', { dev_a: 2 }), { record }, device('dev_a')))
    expect(del.status).toBe('merged')
    expect(del.record?.deletedAt).toBe(NOW)
  })

  it('conflict: a contested manual field keeps the server value and opens a conflict; the other fields apply', () => {
    const record = stored('task', { secret: 'server' }, { version: 2, vclock: { dev_a: 1, dev_b: 1 }, fieldVersions: { secret: 2 } })
    const history: HistoryEntry[] = [
      {
        model: 'task',
        recordId: ID,
        version: 2,
        op: 'update',
        changes: { secret: { old: 'base', new: 'server' } },
        userId: null,
        deviceId: 'dev_b',
        requestId: null,
        at: EARLIER,
      },
    ]
    const c = device('dev_a', { actor: { ...SYSTEM_ACTOR, userId: U1 } })
    const d = accepted(run(push('update', { dev_a: 2 }, { data: { secret: 'mine', title: 't' } }), { record, history }, c))
    expect(d.status).toBe('conflict')
    expect(d.record?.values).toMatchObject({ secret: 'server', title: 't' })
    expect(d.conflictWrite).toBe('insert')
    expect(d.conflict).toMatchObject({
      model: 'task',
      recordId: ID,
      fields: ['secret'],
      base: { secret: 'base' },
      local: { secret: 'mine' },
      remote: { secret: 'server' },
      clientId: 'dev_a',
      userId: U1,
      status: 'open',
      createdAt: NOW,
    } satisfies Partial<Conflict>)
  })

  it('stale: the record already includes the edit (EQUAL or BEFORE); nothing is written', () => {
    const record = stored('task', { title: 'a' }, { version: 3, vclock: { dev_a: 3 } })
    for (const vclock of [{ dev_a: 3 }, { dev_a: 2 }]) {
      for (const op of ['update', 'delete'] as const) {
        const d = accepted(run(push(op, vclock, op === 'update' ? { data: { title: 'old' } } : {}), { record }, device('dev_a')))
        expect(d).toEqual({ ok: true, status: 'stale', record })
      }
    }
  })

  it('stale: deleteWins — an update or a create of a deleted record, and a delete of one already deleted', () => {
    const tombstone = stored('task', {}, { version: 2, vclock: { dev_b: 1, dev_a: 1 }, deletedAt: EARLIER })
    for (const op of ['update', 'create', 'delete'] as const) {
      const d = accepted(
        run(push(op, { dev_a: 2, dev_b: 1 }, op === 'delete' ? {} : { data: { title: 'x' } }), { record: tombstone }, device('dev_a')),
      )
      expect(d.status).toBe('stale')
      expect(d.change).toBeUndefined()
    }
  })

  it('stale: updateRevives — a delete concurrent with an update loses', () => {
    const record = stored('memo', { text: 'b' }, { version: 2, vclock: { dev_a: 1, dev_b: 1 } })
    const d = accepted(run({ ...push('delete', { dev_a: 2 }), model: 'memo' } as WriteOp, { record }, device('dev_a')))
    expect(d.status).toBe('stale')
  })

  it('duplicate: a mid at or below the recorded lastMid is answered with the record, applying nothing', () => {
    const record = stored('task', { title: 'a' })
    const c = device('dev_a', { lastMid: 5 })
    for (const mid of [3, 5]) {
      expect(run(push('update', { dev_a: 2 }, { data: { title: 'b' } }, mid), { record }, c)).toEqual({
        ok: true,
        status: 'duplicate',
        record,
      })
    }
    expect(accepted(run(push('update', { dev_a: 2 }, { data: { title: 'b' } }, 6), { record }, c)).status).toBe('applied')
    // §8: a record the caller may not see is not shown, even to a duplicate.
    const mine = stored('diary', { userId: U2 })
    expect(duplicateOf(user(U1), diary, mine)).toEqual({ ok: true, status: 'duplicate', record: undefined })
    expect(duplicateOf(user(U2), diary, mine).record).toBe(mine)
  })

  it('rejected clock_ahead: a clock counting another writer’s changes the record lacks, on create and update', () => {
    expect(refusedCode(run(push('create', { dev_a: 1, dev_b: 1 }, { data: {} }), {}, device('dev_a')))).toBe('clock_ahead')
    const record = stored('task', {}, { vclock: { dev_a: 1, server: 1 } })
    expect(refusedCode(run(push('update', { dev_a: 2, server: 2 }, { data: { title: 'x' } }), { record }, device('dev_a')))).toBe(
      'clock_ahead',
    )
    // The device's own entry only says whether the edit is new: any size is a claim it may make.
    expect(
      accepted(run(push('update', { dev_a: 99, server: 1 }, { data: { title: 'x' } }), { record }, device('dev_a'))).record?.vclock,
    ).toEqual({
      dev_a: 2,
      server: 1,
    })
  })

  it('rejected not_found: an update or delete of a record that does not exist', () => {
    expect(refusedCode(run(push('update', { dev_a: 1 }, { data: { title: 'x' } }), {}, device('dev_a')))).toBe('not_found')
    expect(refusedCode(run(push('delete', { dev_a: 1 }), {}, device('dev_a')))).toBe('not_found')
  })

  it('rejected, per op: a PulseError from another copy of the package (a custom merge) is a refusal with its code', () => {
    class ForeignPulseError extends Error {
      override readonly name = 'PulseError'
      constructor(
        readonly code: string,
        message: string,
      ) {
        super(message)
      }
    }
    const counter = defineModel('counter', {
      fields: {
        n: f.integer({
          default: 0,
          merge: () => {
            throw new ForeignPulseError('forbidden', 'no merging here')
          },
        }),
      },
    })
    const c = device('dev_a', { schema: defineSchema([counter]) })
    const record: StoredRecord = {
      ...stored('task', {}),
      version: 2,
      vclock: { dev_a: 1, dev_b: 1 },
      fieldVersions: { n: 2 },
      values: { n: 5 },
    }
    const op = checkOp(
      c.schema,
      { op: 'update', model: 'counter', id: ID, data: { n: 7 }, sync: { mid: 1, baseVersion: 1, vclock: { dev_a: 2 }, at: EARLIER } },
      'dev_a',
      SERVER_AT,
    )
    if (!op.ok) throw op.error
    const d = decide(op.op, { record, history: [] }, c)
    expect(d.ok).toBe(false)
    if (!d.ok)
      expect({ code: d.error.code, message: d.error.message, status: d.error.status }).toEqual({
        code: 'forbidden',
        message: 'no merging here',
        status: 403,
      })
    // Anything else a merge throws is a fault, not a refusal: it fails the batch.
    const broken = defineModel('counter', {
      fields: {
        n: f.integer({
          default: 0,
          merge: () => {
            throw new TypeError('bug')
          },
        }),
      },
    })
    expect(() => decide({ ...op.op, model: broken } as PreparedOp, { record, history: [] }, c)).toThrow(TypeError)
  })
})

describe('decide: plain writes (REST, the system)', () => {
  it('move the server’s clock entry, stamp history with the batch’s HLC time and no device', () => {
    const record = stored('task', { title: 'a' }, { vclock: { dev_a: 1 } })
    const d = accepted(run({ op: 'update', model: 'task', id: ID, data: { title: 'b' } }, { record }))
    expect(d.record).toMatchObject({ version: 2, vclock: { dev_a: 1, server: 1 }, updatedAt: NOW })
    expect(d.change?.history).toMatchObject({ at: SERVER_AT, deviceId: null, userId: null })
    const created = accepted(run({ op: 'create', model: 'task', data: { title: 'n' } }, {}))
    expect(created.record).toMatchObject({ id: '0192f0b4-1c6a-7000-8000-fffffffffff1', vclock: { server: 1 } })
  })

  it('unchanged: a write that changes nothing writes nothing', () => {
    const record = stored('task', { title: 'a' })
    expect(run({ op: 'update', model: 'task', id: ID, data: { title: 'a' } }, { record })).toEqual({
      ok: true,
      status: 'unchanged',
      record,
    })
  })

  it('If-Match: a version other than the record’s is version_conflict (update and delete); the right one applies', () => {
    const record = stored('task', {}, { version: 4 })
    expect(refusedCode(run({ op: 'update', model: 'task', id: ID, data: { title: 'x' }, ifVersion: 3 }, { record }))).toBe(
      'version_conflict',
    )
    expect(refusedCode(run({ op: 'delete', model: 'task', id: ID, ifVersion: 5 }, { record }))).toBe('version_conflict')
    expect(accepted(run({ op: 'delete', model: 'task', id: ID, ifVersion: 4 }, { record })).record?.version).toBe(5)
  })

  it('not_found: absent, deleted, or out of the caller’s scope (§8: answered exactly alike)', () => {
    const tombstone = stored('task', {}, { deletedAt: EARLIER })
    expect(refusedCode(run({ op: 'update', model: 'task', id: ID, data: { title: 'x' } }, {}))).toBe('not_found')
    expect(refusedCode(run({ op: 'update', model: 'task', id: ID, data: { title: 'x' } }, { record: tombstone }))).toBe('not_found')
    expect(refusedCode(run({ op: 'delete', model: 'task', id: ID }, { record: tombstone }))).toBe('not_found')
    const theirs = stored('diary', { userId: U2 })
    const c = context({ actor: user(U1) })
    expect(refusedCode(run({ op: 'update', model: 'diary', id: ID, data: { text: 'x' } }, { record: theirs }, c))).toBe('not_found')
    expect(refusedCode(run({ op: 'delete', model: 'diary', id: ID }, { record: theirs }, c))).toBe('not_found')
  })

  it('forbidden: the write rule, giving a record away, creating as someone else', () => {
    const c = context({ actor: user(U1) })
    const locked = stored('diary', { userId: U1, locked: true })
    expect(refusedCode(run({ op: 'update', model: 'diary', id: ID, data: { text: 'x' } }, { record: locked }, c))).toBe('forbidden')
    const mine = stored('diary', { userId: U1 })
    expect(refusedCode(run({ op: 'update', model: 'diary', id: ID, data: { userId: U2 } }, { record: mine }, c))).toBe('forbidden')
    // The rule is checked on the record as it would be, too.
    expect(refusedCode(run({ op: 'update', model: 'diary', id: ID, data: { locked: true } }, { record: mine }, c))).toBe('forbidden')
    expect(refusedCode(run({ op: 'create', model: 'diary', data: { userId: U2 } }, {}, c))).toBe('forbidden')
    expect(accepted(run({ op: 'create', model: 'diary', data: {} }, {}, c)).record?.values.userId).toBe(U1)
  })

  it('id_taken: a create of an id outside the caller’s scope, live or deleted, before any clock is looked at', () => {
    const c = device('dev_a', { actor: user(U1, 'dev_a') })
    for (const deletedAt of [null, EARLIER]) {
      const theirs = stored('diary', { userId: U2 }, { deletedAt, vclock: { dev_b: 1 } })
      const op = { op: 'create', model: 'diary', id: ID, data: {}, sync: { mid: 1, vclock: { dev_a: 1, dev_b: 9 }, at: EARLIER } } as const
      expect(refusedCode(run(op, { record: theirs }, c))).toBe('id_taken')
    }
    // A plain create of a deleted id of a deleteWins model: the id is used up.
    const tombstone = stored('task', {}, { deletedAt: EARLIER })
    expect(refusedCode(run({ op: 'create', model: 'task', id: ID, data: { title: 'again' } }, { record: tombstone }))).toBe('id_taken')
  })

  it('a create of an existing id the caller may write updates the fields it names', () => {
    const record = stored('task', { title: 'a', done: true })
    const d = accepted(run({ op: 'create', model: 'task', id: ID, data: { title: 'b' } }, { record }))
    expect(d.record?.values).toMatchObject({ title: 'b', done: true })
    expect(d.change?.before).toBe(record)
  })

  it('updateRevives: a pushed update brings a tombstone back (history op restore); a plain update does not', () => {
    const tombstone = stored('memo', { text: 'a' }, { version: 2, vclock: { dev_a: 2 }, deletedAt: EARLIER })
    const op: WriteOp = {
      op: 'update',
      model: 'memo',
      id: ID,
      data: { text: 'b' },
      sync: { mid: 1, baseVersion: 2, vclock: { dev_a: 3 }, at: EARLIER },
    }
    const d = accepted(run(op, { record: tombstone }, device('dev_a')))
    expect(d.status).toBe('applied')
    expect(d.record).toMatchObject({ deletedAt: null, version: 3, values: { text: 'b' } })
    expect(d.change?.history?.op).toBe('restore')
    expect(refusedCode(run({ op: 'update', model: 'memo', id: ID, data: { text: 'b' } }, { record: tombstone }))).toBe('not_found')
  })

  it('a model without history writes no history entry', () => {
    const d = accepted(run({ op: 'create', model: 'quiet', data: { n: 1 } }, {}))
    expect(d.change).toMatchObject({ history: undefined })
  })
})

describe('decide: settling a conflict (§5)', () => {
  const conflict: Conflict = {
    id: '0192f0b4-1c6a-7000-8000-00000000c0f1',
    model: 'task',
    recordId: ID,
    fields: ['secret'],
    base: { secret: 'base' },
    local: { secret: 'mine' },
    remote: { secret: 'theirs' },
    clientId: 'dev_a',
    userId: null,
    createdAt: EARLIER,
    status: 'open',
  }
  const record = stored('task', { secret: 'theirs' }, { version: 3, vclock: { dev_a: 2, dev_b: 1 } })
  const resolve = (choice: 'local' | 'remote' | 'custom', data?: unknown): WriteOp => ({
    op: 'resolve',
    conflictId: conflict.id,
    choice,
    data,
  })

  it('applies the choice as a plain write (the server entry moves), recorded as a resolution, the conflict settled', () => {
    const c = context({ actor: { ...SYSTEM_ACTOR, userId: U1 } })
    const d = accepted(run(resolve('local'), { record, conflict }, c))
    expect(d.status).toBe('applied')
    expect(d.record).toMatchObject({ version: 4, vclock: { dev_a: 2, dev_b: 1, server: 1 }, values: { secret: 'mine' } })
    expect(d.change?.history?.op).toBe('resolve')
    expect(d.conflictWrite).toBe('update')
    expect(d.conflict).toMatchObject({
      status: 'resolved',
      resolution: { choice: 'local', data: { secret: 'mine' }, resolvedAt: NOW, resolvedBy: U1 },
    })
    // Keeping the server's value changes nothing but the conflict.
    const remote = accepted(run(resolve('remote'), { record, conflict }, c))
    expect(remote).toMatchObject({ status: 'applied', record, conflictWrite: 'update' })
    expect(remote.change).toBeUndefined()
    expect(accepted(run(resolve('custom', { secret: 'both' }), { record, conflict }, c)).record?.values.secret).toBe('both')
  })

  it('refuses: absent or invisible (not_found), settled (version_conflict), record deleted (not_found), custom without data', () => {
    expect(refusedCode(run(resolve('local'), { record }))).toBe('not_found')
    expect(refusedCode(run(resolve('local'), { conflict }))).toBe('not_found')
    expect(refusedCode(run(resolve('local'), { record, conflict: { ...conflict, status: 'resolved' } }))).toBe('version_conflict')
    expect(refusedCode(run(resolve('local'), { record: { ...record, deletedAt: EARLIER }, conflict }))).toBe('not_found')
    expect(refusedCode(run(resolve('custom'), { record, conflict }))).toBe('validation_failed')
  })
})

describe('historySince', () => {
  const record = stored('task', { title: 'server' }, { version: 2, vclock: { dev_a: 1, dev_b: 1 }, fieldVersions: { title: 2 } })
  const since = (op: WriteOp, r: StoredRecord | undefined, c = device('dev_a')) => historySince(prepared(op, c), r, c)

  it('names the baseVersion only for a concurrent synced update with a contested field', () => {
    expect(since(push('update', { dev_a: 2 }, { data: { title: 'mine' } }), record)).toBe(1)
    expect(since(push('create', { dev_a: 2 }, { data: { title: 'mine' } }), record)).toBe(0)
    expect(since(push('update', { dev_a: 2 }, { data: { done: true } }), record)).toBeUndefined() // uncontested
    expect(since(push('update', { dev_a: 2, dev_b: 1 }, { data: { title: 'mine' } }), record)).toBeUndefined() // AFTER
    expect(since(push('delete', { dev_a: 2 }), record)).toBeUndefined()
    expect(since({ op: 'update', model: 'task', id: ID, data: { title: 'x' } }, record, context())).toBeUndefined() // plain
    expect(since(push('update', { dev_a: 2 }, { data: { title: 'mine' } }), undefined)).toBeUndefined()
  })
})
