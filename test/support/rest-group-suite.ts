/**
 * Concurrent REST writes (issue 12, group commit): a burst of writes from two tenants —
 * creates, PATCHes of one record with If-Match at the same version, a create that fails
 * validation, writes out of the caller's scope, two creates of one client-chosen id — must
 * each answer exactly as it would alone, and leave nothing half-applied: every answered
 * write is there once, with its history and one change-order entry, and nothing else is.
 */
import { defineSchema, type Schema, uuidv7 } from '@pulse/core'
import type { RunningServer, SqlStorage } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../../examples/tasks/pulse.config.ts'
import { makeOrg, type SignedIn, signIn } from './accounts.ts'
import { startTestServer } from './server.ts'

type Answer = { status: number; json: Record<string, any> }

const brief = (a: Answer) => ({ status: a.status, code: a.json?.error?.code as string | undefined })

/** Runs the suite against storages made by `makeStorage`. */
export function runRestGroupSuite(name: string, makeStorage: () => Promise<SqlStorage>): void {
  describe(`concurrent REST writes on ${name}`, () => {
    const schema: Schema = defineSchema(config.models)
    let server: RunningServer
    let a: SignedIn
    let b: SignedIn
    let orgA: string
    let orgB: string

    beforeAll(async () => {
      server = await startTestServer(schema, await makeStorage(), { auth: true })
      orgA = await makeOrg(await signIn(server.url, 'group-a'), 'Tenant A')
      orgB = await makeOrg(await signIn(server.url, 'group-b'), 'Tenant B')
      a = await signIn(server.url, 'group-a')
      b = await signIn(server.url, 'group-b')
    })
    afterAll(async () => {
      await server?.close()
    })

    it('answers each write of a burst as it would alone, and applies nothing by halves', async () => {
      const target = (await a.api.post('/api/tasks', { title: 'contested', orgId: orgA })).json
      expect(target.version).toBe(1)
      const sharedId = uuidv7()

      const creates = Array.from({ length: 12 }, (_, i) => () => a.api.post('/api/tasks', { title: `a${i}`, priority: i % 5 }))
      const patches = Array.from(
        { length: 4 },
        (_, i) => () => a.api.patch(`/api/tasks/${target.id}`, { title: `patched ${i}` }, { 'if-match': '1' }),
      )
      const invalid = () => a.api.post('/api/tasks', { title: 'bad', priority: 'high' })
      const foreignPatch = () => b.api.patch(`/api/tasks/${target.id}`, { title: 'stolen' })
      const foreignCreate = () => b.api.post('/api/tasks', { title: 'planted', orgId: orgA })
      const bCreates = Array.from({ length: 4 }, (_, i) => () => b.api.post('/api/tasks', { title: `b${i}` }))
      const sameIdA = () => a.api.post('/api/tasks', { id: sharedId, title: 'mine (a)' })
      const sameIdB = () => b.api.post('/api/tasks', { id: sharedId, title: 'mine (b)' })

      const burst = [...creates, ...patches, invalid, foreignPatch, foreignCreate, ...bCreates, sameIdA, sameIdB]
      const answers = await Promise.all(burst.map((send) => send()))
      let next = 0
      const take = (n: number) => {
        next += n
        return answers.slice(next - n, next)
      }
      const aCreated = take(creates.length)
      const patched = take(patches.length)
      const [invalidAnswer, foreignPatchAnswer, foreignCreateAnswer] = take(3) as unknown as [Answer, Answer, Answer]
      const bCreated = take(bCreates.length)
      const sameId = take(2)

      for (const [k, c] of aCreated.entries()) {
        expect(c.status, c.text).toBe(201)
        expect(c.json).toMatchObject({ title: `a${k}`, version: 1, orgId: orgA })
      }
      for (const c of bCreated) expect(c.json).toMatchObject({ version: 1, orgId: orgB })
      expect(new Set([...aCreated, ...bCreated].map((c) => c.json.id)).size).toBe(16)

      // If-Match at one version: exactly one PATCH wins, the others answer version_conflict.
      const won = patched.filter((p) => p.status === 200)
      expect(won).toHaveLength(1)
      expect(won[0]?.json.version).toBe(2)
      expect(patched.filter((p) => p.status !== 200).map(brief)).toEqual(Array(3).fill({ status: 409, code: 'version_conflict' }))

      // One client-chosen id, two tenants: the first holds it, the other is refused id_taken.
      expect(sameId.map((s) => s.status).sort()).toEqual([201, 409])
      expect(sameId.find((s) => s.status === 409)?.json.error.code).toBe('id_taken')

      // The refusals are those of the same request alone, sent again now.
      expect(brief(invalidAnswer)).toEqual(brief(await invalid()))
      expect(brief(invalidAnswer)).toEqual({ status: 422, code: 'validation_failed' })
      expect(brief(foreignPatchAnswer)).toEqual(brief(await foreignPatch()))
      expect(brief(foreignPatchAnswer)).toEqual({ status: 404, code: 'not_found' })
      expect(foreignCreateAnswer.status).toBeGreaterThanOrEqual(400)
      expect(brief(foreignCreateAnswer)).toEqual(brief(await foreignCreate()))

      // Nothing by halves: each tenant sees exactly its answered writes, once.
      const listA = (await a.api.get('/api/tasks?limit=1000')).json.items as { id: string; title: string; version: number }[]
      const listB = (await b.api.get('/api/tasks?limit=1000')).json.items as { id: string; title: string }[]
      const holder = sameId.find((s) => s.status === 201) as Answer
      const heldByA = holder.json.title === 'mine (a)'
      expect(listA.map((t) => t.title).sort()).toEqual(
        [...aCreated.map((c) => c.json.title), won[0]?.json.title, ...(heldByA ? ['mine (a)'] : [])].sort(),
      )
      expect(listB.map((t) => t.title).sort()).toEqual([...bCreated.map((c) => c.json.title), ...(heldByA ? [] : ['mine (b)'])].sort())
      expect(listA.find((t) => t.id === target.id)?.version).toBe(2)

      // History: the contested record has its create and the one winning update.
      const history = (await a.api.get(`/api/tasks/${target.id}/history`)).json.items as { version: number; op: string }[]
      expect(history.map((h) => [h.version, h.op])).toEqual([
        [1, 'create'],
        [2, 'update'],
      ])

      // The change order: one entry per record written, at its version, positions strictly increasing.
      const changes = await server.storage.readChanges(0, 10_000)
      const byRecord = new Map(changes.map((c) => [c.recordId, c]))
      expect(byRecord.size).toBe(changes.length)
      for (const t of [...listA, ...listB]) expect(byRecord.get(t.id)?.version, t.title).toBe((t as { version?: number }).version ?? 1)
      const seqs = changes.map((c) => c.seq)
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      expect(new Set(seqs).size).toBe(seqs.length)
    })
  })
}
