/**
 * The world of the convergence fuzz (PROTOCOL.md §3–§5): simulated devices (sim-client.ts)
 * making local creates, updates (every merge policy of the `note` model; `memo` for
 * updateRevives), deletes, creates of existing ids and invalid edits, a person settling
 * conflicts, and REST writes (PATCH, DELETE) that devices' queued edits meet as concurrent
 * changes (§5 clock rules: they move `server`). Every push answer (status, record, conflict) is
 * checked against the reference model (reference-model.ts) fed the same mutations in the same
 * order. The server sits behind `Api`: a real one over HTTP, or the write path over memory.
 */
import type { Mutation, PushResponse, PushStatus, WireRecord } from '@pulse/core'
import { expect } from 'vitest'
import { type Edit, type Invalid, NOTE_DEFAULTS, type NoteEdits, noteData } from './fuzz-edits.ts'
import { ReferenceServer, type RefRecord } from './reference-model.ts'
import { type Api, SimClient } from './sim-client.ts'
import { syncSchema } from './sync-models.ts'

// Simulated wall time: in the past, so the server never clamps an `at` (§4), and the same for
// every run of a seed, so a failure replays exactly.
export const EPOCH_MS = Date.UTC(2026, 0, 1)

const ACCEPTED: ReadonlySet<PushStatus> = new Set(['applied', 'merged', 'conflict'])

/** Counts of one fuzz run, printed at its end. */
export interface Stats {
  schedules: number
  commands: number
  pushes: number
  statuses: Record<string, number>
}

/** The world of one schedule: a server (behind `api`), its devices, the reference model, and what was answered. */
export class World {
  readonly clients: SimClient[]
  readonly reference = new ReferenceServer(syncSchema)
  /** Per record: how many answers said a new version was made. */
  readonly accepted = new Map<string, number>()
  /** Every conflict opened, in order, and whether it is still open. */
  readonly conflicts: {
    id: string
    model: string
    recordId: string
    local: Record<string, unknown>
    remote: Record<string, unknown>
    open: boolean
  }[] = []
  clockMs = EPOCH_MS
  private ids = 0

  constructor(
    readonly api: Api,
    skews: readonly number[],
    readonly stats: Stats,
  ) {
    this.clients = skews.map(
      (skew, i) =>
        new SimClient(
          `dev${i}`,
          api,
          () => this.clockMs + skew,
          (c, m, r) => this.observe(c, m, r),
        ),
    )
  }

  client(n: number): SimClient {
    return this.clients[n % this.clients.length] as SimClient
  }

  /** Record ids made in order, so a schedule replays exactly. */
  nextId(): string {
    this.ids += 1
    return `00000000-0000-7000-8000-${this.ids.toString(16).padStart(12, '0')}`
  }

  /** Every push answer the server gave, checked against the reference fed the same mutations. */
  private observe(clientId: string, mutations: readonly Mutation[], response: PushResponse): void {
    this.stats.pushes += 1
    const expected = this.reference.push(clientId, mutations)
    const where = `push by ${clientId} of ${JSON.stringify(mutations)}`
    expect(
      response.results.map((r) => r.mid),
      `one result per mutation, in order: ${where}`,
    ).toEqual(mutations.map((m) => m.mid))
    expect(response.lastMid, where).toBe(expected.lastMid)
    for (const [i, result] of response.results.entries()) {
      const ref = expected.results[i]
      const m = mutations[i] as Mutation
      this.stats.statuses[result.status] = (this.stats.statuses[result.status] ?? 0) + 1
      const detail = `mid ${m.mid} of ${clientId} (${m.op} ${m.model} ${m.id}) answered ${JSON.stringify(result)}; reference ${JSON.stringify(ref)}`
      expect(result.status, detail).toBe(ref?.status)
      if (result.status === 'rejected') expect(result.error?.code, detail).toBe(ref?.errorCode)
      expect(result.record === undefined, detail).toBe(ref?.record === undefined)
      if (result.record && ref?.record) expectSameRecord(result.record, ref.record, detail)
      // A conflict answered again (a retry, §4) applied nothing this time.
      const replayed = result.status === 'conflict' && this.conflicts.some((c) => c.id === result.conflict?.id)
      if (ACCEPTED.has(result.status) && !replayed) this.accepted.set(m.id, (this.accepted.get(m.id) ?? 0) + 1)
      // §5 manual: the conflict names the fields with their base, local and remote values.
      expect(result.conflict === undefined, detail).toBe(ref?.conflict === undefined)
      if (result.conflict && ref?.conflict) {
        const { fields, base, local, remote, recordId, model, status, clientId: by } = result.conflict
        // A retry whose first answer was lost hears the same conflict again, as it is now (§4).
        const known = this.conflicts.find((c) => c.id === result.conflict?.id)
        expect({ fields, base, local, remote, recordId, model, status, by }, detail).toEqual({
          ...ref.conflict,
          recordId: m.id,
          model: m.model,
          status: !known || known.open ? 'open' : 'resolved',
          by: clientId,
        })
        if (!known) this.conflicts.push({ id: result.conflict.id, model: m.model, recordId: m.id, local, remote, open: true })
      }
    }
  }

  /** §5: a person settles one of the conflicts opened so far (an already settled one answers 409). */
  async resolve(pick: number, choice: 'local' | 'remote' | 'custom'): Promise<void> {
    const conflict = this.conflicts[pick % Math.max(1, this.conflicts.length)]
    if (!conflict) return
    const data = { secret: `custom ${pick % 3}` }
    const res = await this.api.post(`/api/sync/conflicts/${conflict.id}/resolve`, choice === 'custom' ? { choice, data } : { choice })
    const detail = `resolve ${choice} of conflict ${JSON.stringify(conflict)}: ${res.status} ${res.text}`
    if (!conflict.open) {
      expect(res.status, detail).toBe(409)
      return
    }
    const before = this.reference.get(conflict.model, conflict.recordId)
    const chosen = choice === 'local' ? conflict.local : choice === 'remote' ? conflict.remote : data
    const after = this.reference.resolve(conflict.model, conflict.recordId, chosen, res.json?.record?.updatedAt ?? '')
    if (!after) {
      // The record was deleted since: nothing to settle, the conflict stays open.
      expect(res.status, detail).toBe(404)
      return
    }
    expect(res.status, detail).toBe(200)
    expect(res.json.conflict.status, detail).toBe('resolved')
    expectSameRecord(res.json.record, after, detail)
    conflict.open = false
    this.stats.statuses.resolved = (this.stats.statuses.resolved ?? 0) + 1
    if (after.version > (before?.version ?? 0)) this.accepted.set(conflict.recordId, (this.accepted.get(conflict.recordId) ?? 0) + 1)
  }

  /** A REST write (no device: it moves the `server` clock entry) of one of the server's records. */
  async rest(pick: number, edit: { kind: 'patch'; note: NoteEdits; memo: string } | { kind: 'delete' }): Promise<void> {
    const records = this.reference.all().sort((a, b) => (a.id < b.id ? -1 : 1))
    const target = records[pick % Math.max(1, records.length)]
    if (!target) return
    const path = `/api/${syncSchema.model(target.model).plural}/${target.id}`
    const before = target.version
    let after: RefRecord | undefined
    if (edit.kind === 'delete') {
      const res = await this.api.delete(path)
      after = this.reference.plainDelete(target.model, target.id, new Date().toISOString())
      expect(res.status, `DELETE ${path}: ${res.text}`).toBe(after ? 204 : 404)
    } else {
      const data = target.model === 'memo' ? { text: edit.memo } : noteData(target.values, edit.note)
      const res = await this.api.patch(path, data)
      after = this.reference.plainUpdate(target.model, target.id, data, res.json?.updatedAt ?? '')
      expect(res.status, `PATCH ${path} ${JSON.stringify(data)}: ${res.text}`).toBe(after ? 200 : 404)
      if (after) expectSameRecord(res.json as WireRecord, after, `PATCH ${path} ${JSON.stringify(data)}`)
    }
    this.stats.statuses.rest = (this.stats.statuses.rest ?? 0) + 1
    if (after && after.version > before) this.accepted.set(target.id, (this.accepted.get(target.id) ?? 0) + 1)
  }

  /** A local edit on one device. */
  edit(client: SimClient, edit: Edit): void {
    if (edit.kind === 'create') {
      const id = this.nextId()
      if (edit.model === 'memo') client.create('memo', id, { text: edit.memo })
      else client.create('note', id, { ...NOTE_DEFAULTS, ...noteData(NOTE_DEFAULTS, edit.note) })
      return
    }
    if (edit.kind === 'invalid' && edit.variant === 'unknownModel') {
      client.create('widget', this.nextId(), { x: 1 })
      return
    }
    const ids = client.editable()
    const id = ids[edit.pick % Math.max(1, ids.length)]
    if (id === undefined) return
    const local = client.store.get(id)
    if (!local) return
    const current = local.record as Record<string, unknown>
    if (edit.kind === 'delete') client.delete(id)
    else if (edit.kind === 'recreate') {
      const data = local.model === 'memo' ? { text: edit.memo } : { ...NOTE_DEFAULTS, ...noteData(NOTE_DEFAULTS, edit.note) }
      client.recreate(id, data)
    } else if (edit.kind === 'update') client.update(id, local.model === 'memo' ? { text: edit.memo } : noteData(current, edit.note))
    else if (local.model === 'memo') client.update(id, { text: 7 })
    else {
      const bad: Record<Invalid, Record<string, unknown>> = {
        unknownModel: {}, // made above: a create of a model the server does not have
        wrongType: { priority: 'high', title: 'kept?' },
        tooLong: { title: 'x'.repeat(201) },
        badEnum: { status: 'someday' },
        unknownField: { colour: 'red' },
      }
      client.update(id, bad[edit.variant])
    }
  }
}

/** The server's record agrees with the reference: version, clock, tombstone, every field. */
export function expectSameRecord(server: WireRecord, ref: RefRecord, detail: string): void {
  const { id, version, vclock, createdAt: _c, updatedAt: _u, deletedAt, ...values } = server
  expect({ id, version, vclock, deleted: deletedAt !== null, values }, detail).toEqual({
    id: ref.id,
    version: ref.version,
    vclock: ref.vclock,
    deleted: ref.deleted,
    values: ref.values,
  })
}
