/**
 * The conformance suite every Bus passes (CONVENTIONS.md: each seam exports its suite). An
 * implementation's test is its setup plus `runBusSuite(...)`. Not part of the package's runtime
 * API: it imports vitest.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Bus, BusErrorHandler, BusMessage } from './bus.ts'
import type { ControlMessage } from './control.ts'

/**
 * Makes `count` buses joined to one channel (as separate processes would be), fresh for each
 * test, all reporting to `onError`. An in-process bus may return one bus `count` times.
 */
export type MakeBuses = (count: number, onError: BusErrorHandler) => Promise<Bus[]>

function message(prev: number, n = 1, model = 'task'): BusMessage {
  return {
    prev,
    last: prev + n,
    changes: Array.from({ length: n }, (_, i) => ({
      model,
      seq: prev + 1 + i,
      ownerId: i % 2 === 0 ? null : 'u1',
      orgId: null,
      record: {
        id: `0190a6f0-0000-7000-8000-${String(prev + 1 + i).padStart(12, '0')}`,
        version: 1,
        vclock: { server: 1 },
        createdAt: '2026-11-23T10:00:00.000Z',
        updatedAt: '2026-11-23T10:00:00.000Z',
        deletedAt: null,
        title: `t ${prev + 1 + i} \u00e9\u{1f600}`,
        tags: ['a', 'b'],
      },
    })),
  }
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for delivery')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Runs the bus conformance tests against `makeBuses`. */
export function runBusSuite(name: string, makeBuses: MakeBuses): void {
  describe(`Bus conformance: ${name}`, () => {
    let open: Bus[] = []
    const errors: unknown[] = []
    const make = async (count: number) => {
      const buses = await makeBuses(count, (e) => errors.push(e))
      open.push(...buses)
      return buses
    }
    afterEach(async () => {
      await Promise.all(open.map((b) => b.close()))
      open = []
      errors.length = 0
    })

    it('delivers a published commit to its own subscriber, once and intact', async () => {
      const [bus] = (await make(1)) as [Bus]
      const got: BusMessage[] = []
      bus.subscribe((m) => got.push(m))
      const sent = message(9, 3)
      await bus.publish(sent)
      await until(() => got.length >= 1)
      await new Promise((r) => setTimeout(r, 50))
      expect(got).toEqual([sent])
      expect(errors).toEqual([])
    })

    it('delivers every commit to every process, each once, in one publisher\u2019s order', async () => {
      const [a, b] = (await make(2)) as [Bus, Bus]
      const atA: number[] = []
      const atB: number[] = []
      a.subscribe((m) => atA.push(m.prev))
      b.subscribe((m) => atB.push(m.prev))
      const prevs = Array.from({ length: 50 }, (_, i) => i * 2)
      for (const prev of prevs) await a.publish(message(prev, 2))
      await until(() => atA.length >= 50 && atB.length >= 50)
      await new Promise((r) => setTimeout(r, 50))
      expect(atA).toEqual(prevs)
      expect(atB).toEqual(prevs)
    })

    it('stops delivering to an unsubscribed handler and keeps the others', async () => {
      const [bus] = (await make(1)) as [Bus]
      const first: number[] = []
      const second: number[] = []
      const off = bus.subscribe((m) => first.push(m.prev))
      bus.subscribe((m) => second.push(m.prev))
      await bus.publish(message(1))
      await until(() => first.length === 1 && second.length === 1)
      off()
      await bus.publish(message(2))
      await until(() => second.length === 2)
      await new Promise((r) => setTimeout(r, 30))
      expect(first).toEqual([1])
      expect(second).toEqual([1, 2])
    })

    it('reports a throwing subscriber to onError and still delivers to the others', async () => {
      const [bus] = (await make(1)) as [Bus]
      const got: number[] = []
      bus.subscribe(() => {
        throw new Error('subscriber broke')
      })
      bus.subscribe((m) => got.push(m.prev))
      await bus.publish(message(4))
      await until(() => got.length === 1 && errors.length === 1)
      expect((errors[0] as Error).message).toBe('subscriber broke')
    })

    it('refuses to publish once closed, and closes twice without complaint', async () => {
      const [bus] = (await make(1)) as [Bus]
      await bus.close()
      await bus.close()
      await expect(bus.publish(message(1))).rejects.toThrow()
    })

    it('honours an aborted signal', async () => {
      const [bus] = (await make(1)) as [Bus]
      const controller = new AbortController()
      controller.abort()
      await expect(bus.publish(message(1), controller.signal)).rejects.toThrow()
      await expect(bus.publishControl({ type: 'api_token_revoked', tokenId: 't' }, controller.signal)).rejects.toThrow()
    })

    it('delivers every control message to every process, each once, apart from the commits', async () => {
      const [a, b] = (await make(2)) as [Bus, Bus]
      const atA: ControlMessage[] = []
      const atB: ControlMessage[] = []
      const commits: number[] = []
      a.subscribeControl((m) => atA.push(m))
      b.subscribeControl((m) => atB.push(m))
      b.subscribe((m) => commits.push(m.prev))
      const sent: ControlMessage[] = [
        { type: 'membership_changed', userIds: ['u1', 'u2'] },
        { type: 'membership_changed', userIds: ['u3', 'u4'], epochs: [4, 0] },
        { type: 'session_ended', userId: 'u1', deviceId: 'dev_1' },
        { type: 'api_token_revoked', tokenId: 'tok' },
      ]
      for (const m of sent) await b.publishControl(m)
      await a.publish(message(7))
      await until(() => atA.length >= 4 && atB.length >= 4 && commits.length >= 1)
      await new Promise((r) => setTimeout(r, 50))
      expect(atA).toEqual(sent)
      expect(atB).toEqual(sent)
      expect(commits).toEqual([7])
      expect(errors).toEqual([])
    })

    it('stops delivering control messages to an unsubscribed handler; a throwing one goes to onError', async () => {
      const [bus] = (await make(1)) as [Bus]
      const first: string[] = []
      const second: string[] = []
      const off = bus.subscribeControl((m) => first.push(m.type))
      bus.subscribeControl(() => {
        throw new Error('control subscriber broke')
      })
      bus.subscribeControl((m) => second.push(m.type))
      await bus.publishControl({ type: 'api_token_revoked', tokenId: 'a' })
      await until(() => first.length === 1 && second.length === 1)
      off()
      await bus.publishControl({ type: 'session_ended', userId: 'u', deviceId: 'd' })
      await until(() => second.length === 2)
      await new Promise((r) => setTimeout(r, 30))
      expect(first).toEqual(['api_token_revoked'])
      expect(second).toEqual(['api_token_revoked', 'session_ended'])
      expect(errors.map((e) => (e as Error).message)).toEqual(['control subscriber broke', 'control subscriber broke'])
      await bus.close()
      await expect(bus.publishControl({ type: 'api_token_revoked', tokenId: 'a' })).rejects.toThrow()
    })
  })
}
