import { defineModel, defineSchema, f } from '@pulse/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { BusMessage } from '../bus/bus.ts'
import { createMemoryBus } from '../bus/memory-bus.ts'
import { type Actor, SYSTEM_ACTOR } from '../engine/context.ts'
import { type LiveConnection, viewKey } from './fan-out.ts'
import { createHub, type Hub } from './hub.ts'

const note = defineModel('note', { fields: { title: f.string({ default: '' }), userId: f.owner() } })
const board = defineModel('board', { fields: { name: f.string({ default: '' }), orgId: f.org() } })
const tag = defineModel('tag', { fields: { label: f.string({ default: '' }) } })
const schema = defineSchema([note, board, tag])

const user = (id: string, orgIds: string[] = []): Actor => ({ userId: id, orgIds, deviceId: null, admin: false })

interface FakeConnection extends LiveConnection {
  sent: Buffer[]
  buffered: number
}

function connection(actor: Actor, cursor: number, models?: string[]): FakeConnection {
  const c: FakeConnection = {
    id: Math.random().toString(36).slice(2, 8),
    actor,
    models: models ? new Set(models) : undefined,
    viewKey: viewKey(actor, models),
    cursor,
    mode: 'live',
    sent: [],
    buffered: 0,
    get bufferedAmount() {
      return c.buffered
    },
    send(payload) {
      c.sent.push(payload)
    },
  }
  return c
}

const record = (id: number, values: Record<string, unknown>) => ({
  id: `0190a6f0-0000-7000-8000-${String(id).padStart(12, '0')}`,
  version: 1,
  vclock: { server: 1 },
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  deletedAt: null,
  ...values,
})

function commit(prev: number, changes: { model: string; values: Record<string, unknown>; ownerId?: string; orgId?: string }[]): BusMessage {
  return {
    prev,
    last: prev + changes.length,
    changes: changes.map((c, i) => ({
      model: c.model,
      seq: prev + 1 + i,
      ownerId: c.ownerId ?? null,
      orgId: c.orgId ?? null,
      record: record(prev + 1 + i, c.values),
    })),
  }
}

const decode = (b: Buffer) => JSON.parse(b.toString('utf8'))
const flush = () => new Promise((r) => setTimeout(r, 0))

describe('hub', () => {
  let hub: Hub | undefined
  afterEach(() => hub?.close())

  function make(maxBufferedBytes?: number, maxMessageBytes?: number) {
    const bus = createMemoryBus()
    const errors: unknown[] = []
    hub = createHub({
      bus,
      schema,
      gapWaitMs: 30,
      onError: (e) => errors.push(e),
      ...(maxBufferedBytes ? { maxBufferedBytes } : {}),
      ...(maxMessageBytes ? { maxMessageBytes } : {}),
    })
    return { bus, hub, errors }
  }

  it('sends a commit to every live connection as one encoding shared by equal views', async () => {
    const { bus, hub } = make()
    const all = Array.from({ length: 50 }, () => connection({ ...SYSTEM_ACTOR }, 0))
    for (const c of all) hub.add(c)
    await bus.publish(commit(0, [{ model: 'tag', values: { label: 'a' } }]))
    await flush()
    const first = all[0]?.sent[0]
    expect(first).toBeDefined()
    for (const c of all) {
      expect(c.sent).toHaveLength(1)
      expect(c.sent[0]).toBe(first) // the same Buffer: serialised once
      expect(c.cursor).toBe(1)
    }
    expect(decode(first as Buffer)).toEqual({
      type: 'changes',
      changes: [{ model: 'tag', record: record(1, { label: 'a' }) }],
      cursor: 'c1.1',
      hasMore: false,
    })
  })

  it('shares one encoding among views that see the same changes (members of one organization)', async () => {
    const { bus, hub } = make()
    const members = Array.from({ length: 20 }, (_, i) => connection(user(`m${i}`, ['o1']), 0))
    const other = connection(user('x', ['o2']), 0)
    for (const c of [...members, other]) hub.add(c)
    await bus.publish(commit(0, [{ model: 'board', values: { name: 'b', orgId: 'o1' }, orgId: 'o1' }]))
    await flush()
    const first = members[0]?.sent[0]
    expect(first).toBeDefined()
    for (const c of members) expect(c.sent).toEqual([first])
    for (const c of members) expect(c.sent[0]).toBe(first) // one Buffer for twenty users
    expect(other.sent).toEqual([])
    expect(other.cursor).toBe(1)
  })

  it('sends each connection only what its scope and models filter let it see, and moves silent cursors', async () => {
    const { bus, hub } = make()
    const u1 = connection({ ...user('u1', ['o1']), scopeEpoch: 3 }, 0)
    const u2 = connection(user('u2'), 0)
    const tagsOnly = connection({ ...SYSTEM_ACTOR }, 0, ['tag'])
    const admin = connection({ ...SYSTEM_ACTOR }, 0)
    for (const c of [u1, u2, tagsOnly, admin]) hub.add(c)
    await bus.publish(
      commit(0, [
        { model: 'note', values: { title: 'mine', userId: 'u1' }, ownerId: 'u1' },
        { model: 'board', values: { name: 'b', orgId: 'o1' }, orgId: 'o1' },
        { model: 'tag', values: { label: 't' } },
      ]),
    )
    await bus.publish(commit(3, [{ model: 'note', values: { title: 'u1 again', userId: 'u1' }, ownerId: 'u1' }]))
    await flush()
    const models = (c: FakeConnection) => c.sent.map((b) => decode(b).changes.map((x: { model: string }) => x.model))
    expect(models(u1)).toEqual([['note', 'board', 'tag'], ['note']])
    expect(models(u2)).toEqual([['tag']])
    expect(models(tagsOnly)).toEqual([['tag']])
    expect(models(admin)).toEqual([['note', 'board', 'tag'], ['note']])
    for (const c of [u1, u2, tagsOnly, admin]) expect(c.cursor).toBe(4)
    // A cursor carries the user's scope epoch (§8).
    expect(u1.sent.map((b) => decode(b).cursor)).toEqual(['c1.3.3', 'c1.4.3'])
    expect(u2.sent.map((b) => decode(b).cursor)).toEqual(['c1.3'])
  })

  it('pokes a connection that is behind, once, and skips it until it pulls', async () => {
    const { bus, hub } = make()
    const behind = connection({ ...SYSTEM_ACTOR }, 0)
    const current = connection({ ...SYSTEM_ACTOR }, 5)
    hub.add(behind)
    hub.add(current)
    await bus.publish(commit(5, [{ model: 'tag', values: {} }]))
    await bus.publish(commit(6, [{ model: 'tag', values: {} }]))
    await flush()
    expect(behind.sent.map(decode)).toEqual([{ type: 'poke' }])
    expect(behind.mode).toBe('behind')
    expect(current.sent).toHaveLength(2)
  })

  it('pokes a connection whose send buffer is over the limit', async () => {
    const { bus, hub } = make(1000)
    const slow = connection({ ...SYSTEM_ACTOR }, 0)
    slow.buffered = 5000
    hub.add(slow)
    await bus.publish(commit(0, [{ model: 'tag', values: {} }]))
    await flush()
    expect(slow.sent.map(decode)).toEqual([{ type: 'poke' }])
    expect(slow.mode).toBe('behind')
  })

  it('pokes, rather than sends, a commit larger than a page for that view', async () => {
    const { bus, hub } = make(undefined, 2000)
    const everyone = connection({ ...SYSTEM_ACTOR }, 0)
    const small = connection(user('u1'), 0, ['note'])
    hub.add(everyone)
    hub.add(small)
    // Two big global tags and one small note of u1's: only the view that sees the tags gets too much.
    await bus.publish(
      commit(0, [
        { model: 'tag', values: { label: 'x'.repeat(1500) } },
        { model: 'tag', values: { label: 'y'.repeat(1500) } },
        { model: 'note', values: { title: 'mine', userId: 'u1' }, ownerId: 'u1' },
      ]),
    )
    await flush()
    expect(everyone.sent.map(decode)).toEqual([{ type: 'poke' }])
    expect(everyone.mode).toBe('behind')
    expect(small.sent.map(decode)).toEqual([
      expect.objectContaining({ type: 'changes', changes: [expect.objectContaining({ model: 'note' })] }),
    ])
    await bus.publish(commit(3, [{ model: 'note', values: { title: 'short', userId: 'u1' }, ownerId: 'u1' }]))
    await flush()
    expect(everyone.sent).toHaveLength(1) // behind until it pulls
  })

  it('never sends a state older than what a pull already gave', async () => {
    const { bus, hub } = make()
    const ahead = connection({ ...SYSTEM_ACTOR }, 2)
    hub.add(ahead)
    await bus.publish(
      commit(0, [
        { model: 'tag', values: { label: 'old' } },
        { model: 'tag', values: {} },
      ]),
    )
    await bus.publish(commit(2, [{ model: 'tag', values: {} }]))
    // Read past prev by its pull: positions 3 and 4 are one commit; it already has 3.
    hub.remove(ahead)
    const partial = connection({ ...SYSTEM_ACTOR }, 4)
    hub.add(partial)
    await bus.publish(
      commit(3, [
        { model: 'tag', values: { n: 4 } },
        { model: 'tag', values: { n: 5 } },
      ]),
    )
    await flush()
    expect(ahead.sent.map((b) => decode(b).cursor)).toEqual(['c1.3'])
    expect(partial.sent.map((b) => decode(b).changes.map((c: { record: { n: number } }) => c.record.n))).toEqual([[5]])
  })

  it('orders commits from several processes and pokes on a gap that never fills', async () => {
    const { bus, hub } = make()
    const c = connection({ ...SYSTEM_ACTOR }, 0)
    hub.add(c)
    await bus.publish(commit(0, [{ model: 'tag', values: {} }]))
    await bus.publish(commit(2, [{ model: 'tag', values: {} }]))
    await bus.publish(commit(1, [{ model: 'tag', values: {} }]))
    await flush()
    expect(c.sent.map((b) => decode(b).cursor)).toEqual(['c1.1', 'c1.2', 'c1.3'])
    await bus.publish(commit(9, [{ model: 'tag', values: {} }]))
    await flush()
    expect(c.sent).toHaveLength(3)
    await new Promise((r) => setTimeout(r, 60))
    expect(decode(c.sent[3] as Buffer)).toEqual({ type: 'poke' })
    expect(hub.head).toBe(10)
  })

  it('leaves syncing connections alone', async () => {
    const { bus, hub } = make()
    const c = connection({ ...SYSTEM_ACTOR }, 0)
    c.mode = 'syncing'
    hub.add(c)
    await bus.publish(commit(0, [{ model: 'tag', values: {} }]))
    await flush()
    expect(c.sent).toEqual([])
    expect(c.cursor).toBe(0)
  })
})
