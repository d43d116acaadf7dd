/**
 * Errors are recognised by their code, not their class (CONVENTIONS.md "Errors"): a PulseError
 * thrown by another copy of `@pulse/core` — here by a custom merge function, as an application
 * bundled with its own copy would throw it — is that mutation's refusal (`rejected` with its
 * code), and the rest of the push applies. Anything else a merge throws is a fault: the push
 * fails whole (500) and nothing of it is applied.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineModel, defineSchema, f, type Mutation } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, startTestServer } from './support/server.ts'

/** What `PulseError` is in another copy of the package: the same name and code, another class. */
class PulseError extends Error {
  override readonly name = 'PulseError'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** A counter whose merge refuses negative values with a foreign PulseError, and fails on 13. */
const tally = defineModel('tally', {
  fields: {
    n: f.integer({
      default: 0,
      merge: (_base, server, client) => {
        if ((client as number) < 0) throw new PulseError('validation_failed', 'a tally never goes below zero')
        if (client === 13) throw new TypeError('the merge function has a bug')
        return Math.max(server as number, client as number)
      },
    }),
  },
})

const at = (n: number) => `2026-01-01T00:00:0${n}.000000Z`

describe('a PulseError from another copy of the package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-foreign-'))
  let server: RunningServer
  let api: ReturnType<typeof httpClient>
  beforeAll(async () => {
    server = await startTestServer(defineSchema([tally]), await createSqliteStorage({ filename: join(dir, 'pulse.db') }))
    api = httpClient(server.url)
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const id = (n: number) => `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`
  const push = (clientId: string, mutations: Mutation[]) => api.post('/api/sync/push', { clientId, mutations })

  it('refuses its own mutation, with its code, and the rest of the push applies', async () => {
    // A creates, B changes n: A's offline edit of n is concurrent with B's and goes to the merge.
    expect(
      (await push('devA', [{ mid: 1, model: 'tally', op: 'create', id: id(1), vclock: { devA: 1 }, data: { n: 1 }, at: at(1) }])).status,
    ).toBe(200)
    expect(
      (
        await push('devB', [
          { mid: 1, model: 'tally', op: 'update', id: id(1), baseVersion: 1, vclock: { devA: 1, devB: 1 }, data: { n: 2 }, at: at(2) },
        ])
      ).status,
    ).toBe(200)
    const res = await push('devA', [
      { mid: 2, model: 'tally', op: 'update', id: id(1), baseVersion: 1, vclock: { devA: 2 }, data: { n: -5 }, at: at(3) },
      { mid: 3, model: 'tally', op: 'create', id: id(2), vclock: { devA: 1 }, data: { n: 7 }, at: at(4) },
    ])
    expect(res.status, res.text).toBe(200)
    expect(res.json.lastMid).toBe(3)
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'applied'])
    expect(res.json.results[0].error).toEqual({ code: 'validation_failed', message: 'a tally never goes below zero' })
    expect((await api.get(`/api/tallys/${id(1)}`)).json).toMatchObject({ n: 2, version: 2 })
    expect((await api.get(`/api/tallys/${id(2)}`)).json).toMatchObject({ n: 7, version: 1 })
  })

  it('anything else a merge throws fails the push whole, applying none of it', async () => {
    const res = await push('devA', [
      { mid: 4, model: 'tally', op: 'create', id: id(3), vclock: { devA: 1 }, data: { n: 1 }, at: at(5) },
      { mid: 5, model: 'tally', op: 'update', id: id(1), baseVersion: 1, vclock: { devA: 3 }, data: { n: 13 }, at: at(6) },
    ])
    expect(res.status).toBe(500)
    expect(res.json.error.code).toBe('internal_error')
    expect((await api.get(`/api/tallys/${id(3)}`)).status).toBe(404)
    // Not recorded either: the same mids are answered afresh, not as duplicates.
    const again = await push('devA', [{ mid: 4, model: 'tally', op: 'create', id: id(3), vclock: { devA: 1 }, data: { n: 1 }, at: at(5) }])
    expect(again.json.results[0].status).toBe('applied')
  })
})
