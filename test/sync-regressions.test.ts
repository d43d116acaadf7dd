/**
 * Minimal reproductions of what the convergence fuzz test (convergence.fuzz.test.ts) found,
 * each pinned as the smallest push sequence over HTTP. The expectations are PROTOCOL.md §4–§5
 * as the reference model (test/support/reference-model.ts) reads them. All three were fixed in
 * 789bdf3; these keep them fixed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Mutation } from '@pulse/core'
import { createSqliteStorage, type RunningServer } from '@pulse/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, startTestServer } from './support/server.ts'
import { syncSchema } from './support/sync-models.ts'

// `at`s in the past, in HLC order: never clamped (§4), and earlier than the server's clock.
const at = (n: number) => `2026-01-01T00:00:0${n}.000000Z`

describe('sync regressions found by the convergence fuzz test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-regressions-'))
  let server: RunningServer
  let api: ReturnType<typeof httpClient>
  let n = 0

  beforeAll(async () => {
    server = await startTestServer(syncSchema, await createSqliteStorage({ filename: join(dir, 'pulse.db') }))
    api = httpClient(server.url)
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const freshId = () => {
    n += 1
    return `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`
  }
  async function push(clientId: string, ...mutations: Mutation[]) {
    const res = await api.post('/api/sync/push', { clientId, mutations })
    expect(res.status, res.text).toBe(200)
    return res.json
  }

  /**
   * Device A creates a note; device B changes its color; A, offline and not knowing of B's
   * change, edits the title twice. Its second title must win over its first (later `at`, same
   * device), whether A pushes the two edits in one request or in two.
   */
  async function twoOfflineEditsOfOneField(together: boolean) {
    const id = freshId()
    const A = `regA${n}`
    const B = `regB${n}`
    await push(A, { mid: 1, model: 'note', op: 'create', id, vclock: { [A]: 1 }, data: { title: 'created' }, at: at(1) })
    await push(B, {
      mid: 1,
      model: 'note',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [A]: 1, [B]: 1 },
      data: { color: 'red' },
      at: at(2),
    })
    const first: Mutation = {
      mid: 2,
      model: 'note',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [A]: 2 },
      data: { title: 'first' },
      at: at(3),
    }
    const second: Mutation = {
      mid: 3,
      model: 'note',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [A]: 3 },
      data: { title: 'second' },
      at: at(4),
    }
    const results = together
      ? (await push(A, first, second)).results
      : [...(await push(A, first)).results, ...(await push(A, second)).results]
    expect(results.map((r: { status: string }) => r.status)).toEqual(['merged', 'merged'])
    return results[1].record
  }

  it('a device’s two concurrent edits of one field: the later wins when pushed one per request', async () => {
    expect(await twoOfflineEditsOfOneField(false)).toMatchObject({ title: 'second', color: 'red', version: 4 })
  })

  // Was: Batch.change read the base values and the time of the server's last change of each
  // contested field from the history table only, where the entries of earlier mutations of the
  // same push were not yet written (buffered until Batch.flush); resolveUpdate then fell back to
  // the record's updatedAt (server wall time, later than every client `at`), so the device's
  // own first edit won, and union/text merges lost their base.
  it('a device’s two concurrent edits of one field: the later wins when pushed in one request', async () => {
    expect(await twoOfflineEditsOfOneField(true)).toMatchObject({ title: 'second', color: 'red', version: 4 })
  })

  // Was: since 5dd04c2 a create stores no per-field versions ("an absent field is at version
  // 1"), but resolveUpdate read an absent one as 0. A create of an existing id is an update
  // without baseVersion (§4, taken as 0), so the fields as created are contested (§5); read as
  // 0 they never were, and the concurrent create overwrote them whatever their policy.
  it('a concurrent create of an existing id contests the fields as created (§4, §5)', async () => {
    const id = freshId()
    const A = `regA${n}`
    const B = `regB${n}`
    await push(A, { mid: 1, model: 'note', op: 'create', id, vclock: { [A]: 1 }, data: { title: 'from A', priority: 3 }, at: at(5) })
    const res = await push(B, {
      mid: 1,
      model: 'note',
      op: 'create',
      id,
      vclock: { [B]: 1 },
      data: { title: 'from B', priority: 1 },
      at: at(4),
    })
    // lww: A's `at` is later, so A's title stays; max: priority 3 stays.
    expect(res.results[0]).toMatchObject({
      status: 'merged',
      record: { title: 'from A', priority: 3, version: 2, vclock: { [A]: 1, [B]: 1 } },
    })
  })

  // Was: applyWrites answered a duplicate without `record` when the retried mutation's data
  // did not validate, though the record exists: §4 says a duplicate carries the server state.
  // Since refusals are remembered, a retry of the refused mutation answers the same refusal;
  // a mid that landed, sent again with data that would not validate, is still a duplicate.
  it('a retried rejected mutation answers its refusal again; a landed mid is a duplicate with the server state (§4)', async () => {
    const id = freshId()
    const A = `regA${n}`
    await push(A, { mid: 1, model: 'note', op: 'create', id, vclock: { [A]: 1 }, data: { title: 'ok' }, at: at(1) })
    const bad: Mutation = {
      mid: 2,
      model: 'note',
      op: 'update',
      id,
      baseVersion: 1,
      vclock: { [A]: 2 },
      data: { priority: 'high' },
      at: at(2),
    }
    expect((await push(A, bad)).results[0]).toMatchObject({ status: 'rejected', error: { code: 'validation_failed' } })
    expect((await push(A, bad)).results[0]).toMatchObject({ status: 'rejected', error: { code: 'validation_failed' } })
    expect((await push(A, { ...bad, mid: 1 })).results[0]).toMatchObject({ status: 'duplicate', record: { id, title: 'ok', version: 1 } })
  })

  // Was: a record's clock grew an entry per device that ever edited it, past the 1,000 entries a
  // pushed clock may hold; from then on every push naming that record was refused whole (400)
  // by the parser, and with it every other mutation queued behind it on that device. The
  // stored clock now stops one short: a device new to a full record has that mutation alone
  // refused (`validation_failed` on `vclock`), and everyone else's edits go on.
  it('a record edited by as many devices as its clock holds refuses the next new device per mutation, nothing else (§1, §4)', async () => {
    const id = freshId()
    const made = await api.post('/api/notes', { id, title: 'busy' })
    expect(made.status, made.text).toBe(201)
    let vclock: Record<string, number> = made.json.vclock
    let version = 1
    /** Device `device`'s mid `mid`: an edit of the record made on its current state. */
    const edit = (device: string, mid: number, data: Record<string, unknown>): Mutation => ({
      mid,
      model: 'note',
      op: 'update',
      id,
      baseVersion: version,
      vclock: { ...vclock, [device]: mid },
      data,
      at: at(1),
    })
    // MAX_CLOCK_ENTRIES (1,000) less one stored, less the server's own: 998 devices fit.
    for (let d = 1; d <= 998; d++) {
      const res = await push(`busy-${d}`, edit(`busy-${d}`, 1, { title: `by ${d}` }))
      expect(res.results[0].status, JSON.stringify(res.results[0]).slice(0, 300)).toBe('applied')
      vclock = res.results[0].record.vclock
      version = res.results[0].record.version
    }
    expect(Object.keys(vclock)).toHaveLength(999)
    const other = freshId()
    const late = await push('busy-late', edit('busy-late', 1, { title: 'one too many' }), {
      mid: 2,
      model: 'note',
      op: 'create',
      id: other,
      vclock: { 'busy-late': 1 },
      data: { title: 'elsewhere' },
      at: at(2),
    })
    expect(late.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'applied'])
    expect(late.results[0].error).toMatchObject({ code: 'validation_failed', field: 'vclock' })
    // A device that edited it before, and a REST write, still go.
    const again = await push('busy-7', edit('busy-7', 2, { body: 'still here' }))
    expect(again.results[0].status).toBe('applied')
    const rest = await api.patch(`/api/notes/${id}`, { title: 'by REST' })
    expect(rest.status, rest.text).toBe(200)
    expect(Object.keys(rest.json.vclock)).toHaveLength(999)
  })
})
