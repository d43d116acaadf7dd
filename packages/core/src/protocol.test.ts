/**
 * The wire parsers (PROTOCOL.md §3–§6): what each side accepts from the other. Client messages
 * are refused with `bad_request` listing the problem; server messages with `bad_request`
 * naming the path of the first problem, so a client never casts a frame it has not checked.
 */
import { describe, expect, it } from 'vitest'
import { isPulseError } from './errors.ts'
import {
  MAX_PUSH_MUTATIONS,
  type Mutation,
  parseClientMessage,
  parseConflict,
  parseMutations,
  parsePullResponse,
  parsePushRequest,
  parsePushResponse,
  parseServerMessage,
  parseWireRecord,
} from './protocol.ts'

const ID = '0193a7e4-0000-7000-8000-000000000001'
const AT = '2026-11-23T10:00:00.000Z'

const mutation = (extra: Partial<Mutation> = {}): Mutation => ({
  mid: 1,
  model: 'note',
  op: 'create',
  id: ID,
  vclock: { d: 1 },
  data: { title: 'x' },
  at: AT,
  ...extra,
})

const record = (extra: Record<string, unknown> = {}) => ({
  id: ID,
  version: 1,
  vclock: { d: 1 },
  createdAt: AT,
  updatedAt: AT,
  deletedAt: null,
  title: 'x',
  ...extra,
})

const conflict = (extra: Record<string, unknown> = {}) => ({
  id: 'c1',
  model: 'note',
  recordId: ID,
  fields: ['secret'],
  base: { secret: 'a' },
  local: { secret: 'b' },
  remote: { secret: 'c' },
  clientId: 'dev_1',
  userId: null,
  createdAt: AT,
  status: 'open',
  ...extra,
})

/** The message of the PulseError `fn` throws (failing when it throws something else or nothing). */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (!isPulseError(e)) throw e
    expect(e.code === 'bad_request' || e.code === 'payload_too_large').toBe(true)
    return `${e.message} ${JSON.stringify(e.details ?? [])}`
  }
  throw new Error('expected a refusal')
}

describe('client messages (parsed by the server)', () => {
  it('accepts each §6 message type and normalises what it may', () => {
    expect(parseClientMessage({ type: 'hello', clientId: 'dev_1', cursor: null, token: 't', models: ['note'], schemaVersion: 1 })).toEqual({
      type: 'hello',
      clientId: 'dev_1',
      cursor: null,
      token: 't',
      models: ['note'],
      schemaVersion: 1,
    })
    expect(parseClientMessage({ type: 'hello', clientId: 'dev_1' })).toEqual({ type: 'hello', clientId: 'dev_1', cursor: null })
    expect(parseClientMessage({ type: 'pull', cursor: 'c1', limit: 10 })).toEqual({ type: 'pull', cursor: 'c1', limit: 10 })
    expect(parseClientMessage({ type: 'ping', extra: 1 })).toEqual({ type: 'ping' })
    const push = parseClientMessage({ type: 'push', mutations: [mutation({ id: ID.toUpperCase() })] })
    expect(push).toEqual({ type: 'push', mutations: [mutation()] })
  })

  it('passes request ids (version 2) through and refuses malformed ones', () => {
    expect(parseClientMessage({ type: 'hello', id: 'h', clientId: 'd' })).toEqual({ type: 'hello', id: 'h', clientId: 'd', cursor: null })
    expect(parseClientMessage({ type: 'pull', id: 'p', cursor: null })).toEqual({ type: 'pull', id: 'p', cursor: null })
    expect(parseClientMessage({ type: 'push', id: 'u', mutations: [] })).toEqual({ type: 'push', id: 'u', mutations: [] })
    for (const id of ['', 'x'.repeat(65), 7, null]) {
      expect(refusal(() => parseClientMessage({ type: 'pull', id, cursor: null }))).toContain('id')
    }
  })

  it('refuses malformed messages with bad_request', () => {
    for (const bad of [
      null,
      [],
      'hello',
      { type: 1 },
      { type: 'nope' },
      { type: 'hello' },
      { type: 'hello', clientId: 'has space' },
      { type: 'hello', clientId: 'd', token: 5 },
      { type: 'hello', clientId: 'd', schemaVersion: -1 },
      { type: 'hello', clientId: 'd', models: 'note' },
      { type: 'pull', cursor: 5 },
      { type: 'pull', cursor: 'x'.repeat(513) },
      { type: 'pull', cursor: null, limit: 0 },
      { type: 'pull', cursor: null, limit: 5001 },
      { type: 'push', mutations: {} },
    ]) {
      expect(
        refusal(() => parseClientMessage(bad)),
        JSON.stringify(bad),
      ).toBeTruthy()
    }
  })

  it('lists every problem of a push, names each mutation’s field, and refuses mids that do not increase', () => {
    const text = refusal(() =>
      parseMutations([
        mutation({ mid: 0 }),
        mutation({ mid: 2, op: 'update' as never }),
        mutation({ mid: 3, vclock: { d: -1 } }),
        { ...mutation({ mid: 4 }), at: 'yesterday' },
        mutation({ mid: 5 }),
        mutation({ mid: 5 }),
      ]),
    )
    for (const field of ['mutations[0].mid', 'mutations[1].baseVersion', 'mutations[2].vclock', 'mutations[3].at', 'mutations[5].mid']) {
      expect(text).toContain(field)
    }
    expect(parseMutations([mutation({ mid: 1 }), mutation({ mid: 2, op: 'delete', baseVersion: 1, data: undefined })])).toHaveLength(2)
    expect(refusal(() => parseMutations(Array.from({ length: MAX_PUSH_MUTATIONS + 1 }, (_, i) => mutation({ mid: i + 1 }))))).toContain(
      `${MAX_PUSH_MUTATIONS}`,
    )
  })

  it('checks a push body’s clientId', () => {
    expect(parsePushRequest({ clientId: 'dev_1', mutations: [] })).toEqual({ clientId: 'dev_1', mutations: [] })
    expect(refusal(() => parsePushRequest({ clientId: '', mutations: [] }))).toContain('clientId')
    expect(refusal(() => parsePushRequest([]))).toContain('object')
  })
})

describe('server messages (parsed by the client)', () => {
  it('accepts each §6 message type', () => {
    expect(parseServerMessage({ type: 'welcome', userId: null, serverTime: AT })).toEqual({ type: 'welcome', userId: null, serverTime: AT })
    expect(parseServerMessage({ type: 'poke' })).toEqual({ type: 'poke' })
    expect(parseServerMessage({ type: 'pong' })).toEqual({ type: 'pong' })
    expect(parseServerMessage({ type: 'error', code: 'cursor_expired', message: 'gone' })).toEqual({
      type: 'error',
      code: 'cursor_expired',
      message: 'gone',
    })
    const changes = {
      type: 'changes',
      changes: [
        { model: 'note', record: record() },
        { model: 'note', record: { id: ID }, removed: true },
      ],
      cursor: 'c9',
      hasMore: false,
    }
    expect(parseServerMessage(changes)).toEqual(changes)
    const pushResult = {
      type: 'pushResult',
      lastMid: 3,
      results: [
        { mid: 1, status: 'applied', record: record() },
        { mid: 2, status: 'conflict', record: record({ version: 2 }), conflict: conflict() },
        { mid: 3, status: 'rejected', error: { code: 'validation_failed', message: 'too long', field: 'title' } },
      ],
    }
    expect(parseServerMessage(pushResult)).toEqual(pushResult)
  })

  it('passes the request id of a reply through', () => {
    expect(parseServerMessage({ type: 'changes', id: 'p', changes: [], cursor: 'c', hasMore: false })).toMatchObject({ id: 'p' })
    expect(parseServerMessage({ type: 'pushResult', id: 'u', lastMid: 0, results: [] })).toMatchObject({ id: 'u' })
    expect(parseServerMessage({ type: 'error', id: 'h', code: 'not_found', message: 'm' })).toMatchObject({ id: 'h' })
    expect(refusal(() => parseServerMessage({ type: 'poke', id: 5 }))).toContain('message.id')
  })

  it('keeps model fields of records as they are and checks the system fields', () => {
    const r = record({ tags: ['a'], nested: { x: 1 } })
    expect(parseWireRecord(r)).toBe(r)
    expect(refusal(() => parseWireRecord(record({ version: 0 })))).toContain('record.version')
    expect(refusal(() => parseWireRecord(record({ vclock: { d: 1.5 } })))).toContain('record.vclock.d')
    expect(refusal(() => parseWireRecord(record({ deletedAt: 5 })))).toContain('record.deletedAt')
    expect(refusal(() => parseWireRecord(record({ id: undefined })))).toContain('record.id')
  })

  it('refuses a malformed or unknown message, naming the path of the problem', () => {
    const cases: [unknown, string][] = [
      [null, 'message'],
      [{ type: 'nope' }, 'message.type'],
      [{ type: 'welcome', userId: 5, serverTime: AT }, 'welcome.userId'],
      [{ type: 'changes', changes: {}, cursor: 'c', hasMore: false }, 'changes.changes'],
      [{ type: 'changes', changes: [], cursor: 'c' }, 'changes.hasMore'],
      [
        { type: 'changes', changes: [{ model: 'note', record: record({ updatedAt: null }) }], cursor: 'c', hasMore: false },
        'changes.changes[0].record.updatedAt',
      ],
      [
        { type: 'changes', changes: [{ model: 'note', record: {}, removed: true }], cursor: 'c', hasMore: false },
        'changes.changes[0].record.id',
      ],
      [{ type: 'changes', changes: [{ model: 'note', record: record(), removed: false }], cursor: 'c', hasMore: false }, 'removed'],
      [{ type: 'pushResult', lastMid: -1, results: [] }, 'pushResult.lastMid'],
      [{ type: 'pushResult', lastMid: 1, results: [{ mid: 1, status: 'lost' }] }, 'pushResult.results[0].status'],
      [{ type: 'pushResult', lastMid: 1, results: [{ mid: 1, status: 'rejected', error: { code: 1 } }] }, 'results[0].error.code'],
      [{ type: 'error', code: 'x' }, 'error.message'],
    ]
    for (const [message, path] of cases)
      expect(
        refusal(() => parseServerMessage(message)),
        JSON.stringify(message),
      ).toContain(path)
  })

  it('checks pull and push answers over HTTP, and conflicts with their resolution', () => {
    expect(parsePullResponse({ changes: [], cursor: 'c', hasMore: true })).toEqual({ changes: [], cursor: 'c', hasMore: true })
    expect(parsePushResponse({ lastMid: 0, results: [] })).toEqual({ lastMid: 0, results: [] })
    const resolved = conflict({
      status: 'resolved',
      resolution: { choice: 'local', data: { secret: 'b' }, resolvedAt: AT, resolvedBy: 'u1' },
    })
    expect(parseConflict(resolved)).toEqual(resolved)
    expect(refusal(() => parseConflict(conflict({ status: 'closed' })))).toContain('conflict.status')
    expect(
      refusal(() => parseConflict(conflict({ resolution: { choice: 'mine', data: {}, resolvedAt: AT, resolvedBy: null } }))),
    ).toContain('resolution.choice')
    expect(refusal(() => parseConflict(conflict({ fields: [1] })))).toContain('conflict.fields[0]')
  })
})
