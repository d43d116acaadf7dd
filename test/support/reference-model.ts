/**
 * A deliberately simple, in-memory re-implementation of the server's decisions for pushed
 * mutations (PROTOCOL.md §4–§5), written from the protocol rather than from the engine: the
 * convergence fuzz test feeds it the mutations in the order the server received them and
 * expects the same statuses and the same records (version, vector clock, tombstone, every
 * field). Only the per-field policies themselves are core's (`resolveField`); clock order,
 * contested fields, base values, onDeleted, manual conflicts, versions and history are here.
 *
 * It models a caller who may write every record (the system actor) and models with history.
 *
 * Clock rules (§5): a device's entry counts the changes the server accepted from its pushes (one
 * per change); a person's resolution moves the `server` entry. A mutation's clock is only a
 * claim: an entry of another writer above the record's is refused (`clock_ahead`), and the
 * device's own entry only says whether the edit is new.
 */
import {
  clampAt,
  compareClocks,
  formatHlc,
  isPulseError,
  type ModelDefinition,
  type Mutation,
  type PushStatus,
  resolveField,
  type Schema,
  type VectorClock,
  validateCreate,
  validateUpdate,
} from '@pulse/core'

/** One version of a record's audit trail, as the reference keeps it. */
export interface RefHistoryEntry {
  version: number
  op: 'create' | 'update' | 'delete' | 'restore' | 'resolve'
  changes: Record<string, { old: unknown; new: unknown }>
  /** The mutation's `at` (clamped) and device: what lww compares against (§5). Null for a person's resolution. */
  at: string
  deviceId: string | null
}

/** A conflict the reference opened (§5): the manual fields with their base, local and remote values. */
export interface RefConflict {
  fields: string[]
  base: Record<string, unknown>
  local: Record<string, unknown>
  remote: Record<string, unknown>
}

/** A record as the reference sees it. */
export interface RefRecord {
  model: string
  id: string
  version: number
  vclock: VectorClock
  deleted: boolean
  /** The version at which each field last changed (§5 contested fields). */
  fieldVersions: Record<string, number>
  values: Record<string, unknown>
  history: RefHistoryEntry[]
}

/** The reference's answer for one mutation. */
export interface RefResult {
  mid: number
  status: PushStatus
  /** A copy of the record's state right after the mutation (absent for rejected, or a record that does not exist). */
  record?: RefRecord
  errorCode?: string
  conflict?: RefConflict
}

/**
 * §8 for a caller who is not the system actor: the code a mutation is refused with because of
 * the caller's scope (`id_taken`, `forbidden`, `not_found`), or undefined when it may go on.
 * Asked after the data is validated, before clocks are compared; `values` are a create's.
 */
export type ScopeCheck = (m: Mutation, existing: RefRecord | undefined, values?: Record<string, unknown>) => string | undefined

/** The device id a history entry without one stands for, as the server's resolver reads it. */
const SERVER_DEVICE = 'server'

/** Canonical JSON (sorted keys): equal values, equal text. */
export function canonical(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function copy(record: RefRecord): RefRecord {
  return structuredClone(record)
}

/** The clock after one more change by `writer`. */
function bump(clock: VectorClock, writer: string): VectorClock {
  const next: VectorClock = { ...clock, [writer]: (clock[writer] ?? 0) + 1 }
  return Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** §5: a mutation may not count changes of another writer the record does not have. */
function checkClaim(sent: VectorClock, stored: VectorClock, deviceId: string): void {
  for (const [writer, n] of Object.entries(sent)) {
    if (writer !== deviceId && n > (stored[writer] ?? 0)) throw new Rejected('clock_ahead')
  }
}

class Rejected extends Error {
  constructor(readonly code: string) {
    super(code)
  }
}

/** The server's decisions, re-implemented. */
export class ReferenceServer {
  private readonly records = new Map<string, RefRecord>()
  private readonly lastMids = new Map<string, number>()
  /** §4: each client's refused mids and their codes; a retry answers the same refusal. */
  private readonly refusals = new Map<string, Map<number, string>>()
  /** §4: each client's mids that opened a conflict; a retry answers `conflict` again, with it. */
  private readonly opened = new Map<string, Map<number, { key: string; conflict: RefConflict }>>()

  constructor(
    private readonly schema: Schema,
    /** The server's clock in ms: `at` is clamped to it (§4); the fuzz test's `at`s are all in the past. */
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Every record, tombstones included. */
  all(): RefRecord[] {
    return [...this.records.values()].map(copy)
  }

  get(model: string, id: string): RefRecord | undefined {
    const r = this.records.get(`${model}\u0000${id}`)
    return r && copy(r)
  }

  /** §4 push: one result per mutation, in order; `lastMid` the highest mid recorded for the client. */
  push(clientId: string, mutations: readonly Mutation[], scope?: ScopeCheck): { lastMid: number; results: RefResult[] } {
    const lastMid = this.lastMids.get(clientId) ?? 0
    let highest = lastMid
    const results: RefResult[] = []
    for (const m of mutations) {
      if (m.mid <= lastMid) {
        // §4: already recorded; a refused one answers its refusal again, any other the server's state; nothing applied.
        const refused = this.refusals.get(clientId)?.get(m.mid)
        if (refused) {
          results.push({ mid: m.mid, status: 'rejected', errorCode: refused })
          continue
        }
        const r = this.records.get(`${m.model}\u0000${m.id}`)
        const opened = this.opened.get(clientId)?.get(m.mid)
        if (opened && r && opened.key === `${m.model}\u0000${m.id}`)
          results.push({ mid: m.mid, status: 'conflict', record: copy(r), conflict: opened.conflict })
        else results.push({ mid: m.mid, status: 'duplicate', ...(r ? { record: copy(r) } : {}) })
        continue
      }
      highest = Math.max(highest, m.mid)
      try {
        results.push(this.apply(clientId, m, scope))
      } catch (e) {
        if (e instanceof Rejected) results.push({ mid: m.mid, status: 'rejected', errorCode: e.code })
        else if (isPulseError(e)) results.push({ mid: m.mid, status: 'rejected', errorCode: e.code })
        else throw e
      }
    }
    this.lastMids.set(clientId, highest)
    for (const r of results) {
      if (r.status === 'conflict' && r.conflict && r.record && r.mid > lastMid) {
        const mine = this.opened.get(clientId) ?? new Map<number, { key: string; conflict: RefConflict }>()
        mine.set(r.mid, { key: `${r.record.model}\u0000${r.record.id}`, conflict: r.conflict })
        this.opened.set(clientId, mine)
      }
      if (r.status !== 'rejected' || r.mid <= lastMid || !r.errorCode) continue
      const mine = this.refusals.get(clientId) ?? new Map<number, string>()
      mine.set(r.mid, r.errorCode)
      this.refusals.set(clientId, mine)
    }
    return { lastMid: highest, results }
  }

  /** The server's time of a history entry (its clamped `at`), as the server stored it: later lww ties read it. */
  setAt(model: string, id: string, version: number, at: string): void {
    const entry = this.records.get(`${model}\u0000${id}`)?.history.find((h) => h.version === version)
    if (entry) entry.at = at
  }

  private apply(deviceId: string, m: Mutation, scope?: ScopeCheck): RefResult {
    const model = this.schema.models.get(m.model)
    if (!model) throw new Rejected('not_found')
    const at = clampAt(m.at, formatHlc({ wallMs: Math.floor(this.nowMs()), counter: 0 }))
    const key = `${model.name}\u0000${m.id}`
    const existing = this.records.get(key)
    const done = (status: PushStatus, record: RefRecord | undefined, conflict?: RefConflict): RefResult => ({
      mid: m.mid,
      status,
      ...(record ? { record: copy(record) } : {}),
      ...(conflict ? { conflict } : {}),
    })

    if (m.op === 'create') {
      const { values } = validateCreate(model, m.data)
      const refused = scope?.(m, existing, values)
      if (refused) throw new Rejected(refused)
      checkClaim(m.vclock, existing?.vclock ?? {}, deviceId)
      if (existing) {
        // §4: a create of an existing id is an update of the fields it names.
        if (existing.deleted && model.onDeleted === 'deleteWins') return done('stale', existing)
        const named = Object.fromEntries(
          Object.keys(m.data ?? {})
            .filter((k) => model.specs.has(k))
            .map((k) => [k, values[k]]),
        )
        return this.change(model, existing, named, { ...m, baseVersion: undefined }, at, deviceId, done)
      }
      const record: RefRecord = {
        model: model.name,
        id: m.id,
        version: 1,
        vclock: { [deviceId]: 1 },
        deleted: false,
        fieldVersions: Object.fromEntries(Object.keys(values).map((k) => [k, 1])),
        values,
        history: [
          {
            version: 1,
            op: 'create',
            changes: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { old: null, new: v }])),
            at,
            deviceId,
          },
        ],
      }
      this.records.set(key, record)
      return done('applied', record)
    }

    if (m.op === 'update') {
      const data = validateUpdate(model, m.data)
      if (!existing || scope?.(m, existing)) throw new Rejected('not_found')
      checkClaim(m.vclock, existing.vclock, deviceId)
      // §5: an update against a tombstone is stale unless the model revives.
      if (existing.deleted && model.onDeleted === 'deleteWins') return done('stale', existing)
      return this.change(model, existing, data, m, at, deviceId, done)
    }

    if (!existing || scope?.(m, existing)) throw new Rejected('not_found')
    checkClaim(m.vclock, existing.vclock, deviceId)
    if (existing.deleted) return done('stale', existing)
    const order = compareClocks(m.vclock, existing.vclock)
    if (order === 'EQUAL' || order === 'BEFORE') return done('stale', existing)
    // §5: a delete concurrent with an update loses under updateRevives and wins otherwise.
    if (order === 'CONCURRENT' && model.onDeleted === 'updateRevives') return done('stale', existing)
    existing.version += 1
    existing.vclock = bump(existing.vclock, deviceId)
    existing.deleted = true
    existing.history.push({ version: existing.version, op: 'delete', changes: {}, at, deviceId })
    return done(order === 'CONCURRENT' ? 'merged' : 'applied', existing)
  }

  /**
   * §5: a person settles a conflict by choosing values for a record: a plain write (below),
   * recorded as a resolution. Returns undefined when the record is gone or deleted (the server
   * answers not_found).
   */
  resolve(model: string, id: string, chosen: Record<string, unknown>, at: string, deviceId: string | null = null): RefRecord | undefined {
    return this.plainUpdate(model, id, chosen, at, 'resolve', deviceId)
  }

  /**
   * A write that is no device's push (REST, a resolution): applied on the current state, it moves
   * the `server` clock entry (§5 clock rules); the record gets a new version unless the values are
   * already there. `at` is the server's time of the write (its `updatedAt`). Returns undefined when
   * the record is gone or deleted (the server answers not_found).
   */
  plainUpdate(
    model: string,
    id: string,
    input: Record<string, unknown>,
    at: string,
    op: 'update' | 'resolve' = 'update',
    /** The device whose token made the write (history says who; the clock entry is still `server`). */
    deviceId: string | null = null,
  ): RefRecord | undefined {
    const definition = this.schema.model(model)
    const existing = this.records.get(`${model}\u0000${id}`)
    if (!existing || existing.deleted) return undefined
    const values = validateUpdate(definition, input)
    const changes: Record<string, { old: unknown; new: unknown }> = {}
    for (const [field, value] of Object.entries(values)) {
      if (!same(existing.values[field], value)) changes[field] = { old: existing.values[field] ?? null, new: value }
    }
    if (Object.keys(changes).length === 0) return copy(existing)
    existing.version += 1
    existing.vclock = bump(existing.vclock, SERVER_DEVICE)
    for (const [field, c] of Object.entries(changes)) {
      existing.values[field] = c.new
      existing.fieldVersions[field] = existing.version
    }
    existing.history.push({ version: existing.version, op, changes, at, deviceId })
    return copy(existing)
  }

  /** A plain delete (REST): a tombstone, the `server` entry one up. Undefined when gone or deleted already. */
  plainDelete(model: string, id: string, at: string, deviceId: string | null = null): RefRecord | undefined {
    const existing = this.records.get(`${model}\u0000${id}`)
    if (!existing || existing.deleted) return undefined
    existing.version += 1
    existing.vclock = bump(existing.vclock, SERVER_DEVICE)
    existing.deleted = true
    existing.history.push({ version: existing.version, op: 'delete', changes: {}, at, deviceId })
    return copy(existing)
  }

  /** An update (a revive, on a tombstone) of `existing` with validated `data`. */
  private change(
    model: ModelDefinition,
    existing: RefRecord,
    data: Record<string, unknown>,
    m: Mutation,
    at: string,
    deviceId: string,
    done: (status: PushStatus, record: RefRecord | undefined, conflict?: RefConflict) => RefResult,
  ): RefResult {
    const order = compareClocks(m.vclock, existing.vclock)
    if (order === 'EQUAL' || order === 'BEFORE') return done('stale', existing)
    const vclock = bump(existing.vclock, deviceId)
    let values = data
    let status: PushStatus = 'applied'
    let opened: RefConflict | undefined
    if (order === 'CONCURRENT') {
      const baseVersion = m.baseVersion ?? 0
      const resolved: Record<string, unknown> = { ...data }
      const manual: RefConflict = { fields: [], base: {}, local: {}, remote: {} }
      for (const field of Object.keys(data)) {
        // §5: contested = changed on the server after baseVersion (and not to the same value).
        if ((existing.fieldVersions[field] ?? 0) <= baseVersion || same(existing.values[field], data[field])) continue
        const spec = model.specs.get(field)
        if (!spec) continue
        // The base is the field's value at baseVersion; the server side's time and device are
        // those of its last change. Both come from the record's history since baseVersion.
        const since = existing.history.filter((h) => h.version > baseVersion && Object.hasOwn(h.changes, field))
        const first = since[0]
        const last = since[since.length - 1]
        if (!first || !last) throw new Error(`reference: no history for contested field ${field} of ${existing.id}`)
        const ctx = {
          model: model.name,
          field,
          recordId: existing.id,
          serverAt: last.at,
          clientAt: at,
          serverDeviceId: last.deviceId ?? SERVER_DEVICE,
          clientDeviceId: deviceId,
        }
        const outcome = resolveField(spec, {
          base: first.changes[field]?.old,
          server: existing.values[field],
          client: data[field],
          serverAt: last.at,
          clientAt: at,
          serverDeviceId: last.deviceId ?? SERVER_DEVICE,
          clientDeviceId: deviceId,
          ctx,
        })
        if ('manual' in outcome) {
          // §5 manual: the server value is kept and a conflict is opened.
          resolved[field] = existing.values[field]
          manual.fields.push(field)
          manual.base[field] = first.changes[field]?.old ?? null
          manual.local[field] = data[field]
          manual.remote[field] = existing.values[field]
        } else {
          resolved[field] = outcome.value
        }
      }
      values = validateUpdate(model, resolved)
      status = manual.fields.length > 0 ? 'conflict' : 'merged'
      if (manual.fields.length > 0) opened = manual
    }
    const revive = existing.deleted
    const changes: Record<string, { old: unknown; new: unknown }> = {}
    for (const [field, value] of Object.entries(values)) {
      if (!same(existing.values[field], value)) changes[field] = { old: existing.values[field] ?? null, new: value }
    }
    if (!revive && Object.keys(changes).length === 0 && same(vclock, existing.vclock)) return done(status, existing, opened)
    existing.version += 1
    existing.vclock = vclock
    existing.deleted = false
    for (const [field, c] of Object.entries(changes)) {
      existing.values[field] = c.new
      existing.fieldVersions[field] = existing.version
    }
    existing.history.push({ version: existing.version, op: revive ? 'restore' : 'update', changes, at, deviceId })
    return done(status, existing, opened)
  }
}
