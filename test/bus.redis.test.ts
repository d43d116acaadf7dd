/** The bus conformance suite on Redis, plus what only a network bus can get wrong. */
import { randomUUID } from 'node:crypto'
import { type Bus, createRedisBus } from '@pulse/server'
import { runBusSuite } from '@pulse/server/bus-suite'
import { afterEach, describe, expect, it } from 'vitest'
import { redisAvailable, redisUrl } from './support/services.ts'

const redis = await redisAvailable()

describe.skipIf(!redis)('Redis bus', () => {
  runBusSuite('Redis', async (count, onError) => {
    const channel = `pulse:test:${randomUUID()}`
    return Promise.all(Array.from({ length: count }, () => createRedisBus(redisUrl(), { channel, onError })))
  })

  describe('failures', () => {
    const open: Bus[] = []
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()))
    })

    it('refuses to start, naming the server without its password, when Redis does not answer', async () => {
      const started = Date.now()
      await expect(createRedisBus('redis://:secret@127.0.0.1:1', { connectTimeoutMs: 300, onError: () => {} })).rejects.toThrow(
        /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/,
      )
      expect(Date.now() - started).toBeLessThan(3000)
    })

    it('reports a message that is not a commit to onError and keeps delivering', async () => {
      const channel = `pulse:test:${randomUUID()}`
      const errors: unknown[] = []
      const bus = await createRedisBus(redisUrl(), { channel, onError: (e) => errors.push(e) })
      open.push(bus)
      const got: number[] = []
      bus.subscribe((m) => got.push(m.prev))
      const { Redis } = await import('ioredis')
      const raw = new Redis(redisUrl())
      try {
        await raw.publish(channel, 'not json')
        await raw.publish(channel, JSON.stringify({ prev: 1 }))
      } finally {
        raw.disconnect()
      }
      const message = { prev: 3, last: 4, changes: [{ model: 'm', seq: 4, ownerId: null, orgId: null, record: { id: 'x' } }] } as const
      await bus.publish(message as never)
      const end = Date.now() + 3000
      while (got.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
      expect(got).toEqual([3])
      expect(errors.map((e) => (e as Error).message)).toEqual([
        expect.stringContaining('not JSON'),
        expect.stringContaining('not a commit'),
      ])
    })
  })
})
