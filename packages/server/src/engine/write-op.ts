/**
 * A write as the engine takes it (`WriteOp`, unvalidated) and as `decide` takes it
 * (`PreparedOp`: checked against its model, its sync metadata checked and clamped). Checking is
 * pure and happens before any transaction, so a malformed op is refused without a read.
 */
import {
  checkClockText,
  clampAt,
  isUuid,
  type ModelDefinition,
  type Mutation,
  PulseError,
  parseHlc,
  type Schema,
  validateCreate,
  validateUpdate,
} from '@pulse/core'
import { type Refused, refusalOf } from './refusal.ts'

/** The sync metadata of a pushed mutation (§4), as the wire's `Mutation` carries it. */
export type SyncMeta = Pick<Mutation, 'mid' | 'baseVersion' | 'vclock' | 'at'>

/**
 * A pushed edit's sync metadata once checked: its `at` clamped to the server's HLC time (§4) and
 * the device that made it named. The one shape sync metadata has from the wire to storage.
 */
export interface SyncEdit extends SyncMeta {
  /** The device (the push's clientId) that made the edit: the clock entry it moves (§5). */
  readonly deviceId: string
}

/** How a person settles a conflict (§5). */
export type ResolveChoice = 'local' | 'remote' | 'custom'

/** One write of a batch. `data` is unvalidated input: the engine validates it. */
export type WriteOp =
  | { op: 'create'; model: string; id?: string; data: unknown; sync?: SyncMeta }
  | { op: 'update'; model: string; id: string; data: unknown; ifVersion?: number; sync?: SyncMeta }
  | { op: 'delete'; model: string; id: string; ifVersion?: number; sync?: SyncMeta }
  | { op: 'resolve'; conflictId: string; choice: ResolveChoice; data?: unknown }

/** A write after its checks, ready for `decide`. `sync` is absent for plain writes (REST, the system). */
export type PreparedOp =
  | {
      kind: 'create'
      model: ModelDefinition
      /** The id the caller chose, lower-cased; undefined: `decide` makes one. */
      id: string | undefined
      values: Record<string, unknown>
      /** The fields the caller named: what a create of an existing id updates (§4). */
      given: ReadonlySet<string>
      sync: SyncEdit | undefined
    }
  | {
      kind: 'update'
      model: ModelDefinition
      id: string
      values: Record<string, unknown>
      ifVersion: number | undefined
      sync: SyncEdit | undefined
    }
  | { kind: 'delete'; model: ModelDefinition; id: string; ifVersion: number | undefined; sync: SyncEdit | undefined }
  | { kind: 'resolve'; conflictId: string; choice: ResolveChoice; data: unknown }

/** A checked op, or why it was refused. */
export type Checked = { ok: true; op: PreparedOp } | Refused

/** The mutation id of a pushed op, undefined for plain writes. */
export function midOf(op: WriteOp): number | undefined {
  return op.op === 'resolve' ? undefined : op.sync?.mid
}

/** The model and id an op names, as far as they are usable: what a duplicate of a refused op answers with (§4). */
export function targetOf(schema: Schema, op: WriteOp): { model: ModelDefinition; id: string } | undefined {
  if (op.op === 'resolve' || !isUuid(op.id)) return undefined
  const model = schema.models.get(op.model)
  return model ? { model, id: op.id.toLowerCase() } : undefined
}

function checkId(id: unknown): string {
  if (!isUuid(id)) throw new PulseError('invalid_id', `"${String(id).slice(0, 64)}" is not a valid UUID`)
  return id.toLowerCase()
}

function checkIfVersion(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new PulseError('bad_request', 'a version is a positive integer')
  return v
}

/** Checks a pushed op's sync metadata; `serverAt` is the server's HLC time of the batch (§4). */
function checkSync(sync: SyncMeta | undefined, clientId: string | undefined, serverAt: string): SyncEdit | undefined {
  if (!sync) return undefined
  if (!clientId) throw new PulseError('bad_request', 'a synced write needs the clientId of its device')
  if (!parseHlc(sync.at)) throw new PulseError('bad_request', 'at is an ISO-8601 date-time with a zone')
  checkClockText(sync.vclock) // NUL or a lone surrogate: this mutation is refused, not the batch
  // §4: an `at` ahead of the server's HLC is clamped to it, so an edit stamped in the future
  // cannot beat edits that reach the server after it.
  return {
    mid: sync.mid,
    ...(sync.baseVersion !== undefined ? { baseVersion: sync.baseVersion } : {}),
    vclock: sync.vclock,
    at: clampAt(sync.at, serverAt),
    deviceId: clientId,
  }
}

function prepare(schema: Schema, op: WriteOp, clientId: string | undefined, serverAt: string): PreparedOp {
  if (op.op === 'resolve') {
    if (!['local', 'remote', 'custom'].includes(op.choice)) throw new PulseError('bad_request', 'choice is local, remote or custom')
    return { kind: 'resolve', conflictId: checkId(op.conflictId), choice: op.choice, data: op.data }
  }
  const sync = checkSync(op.sync, clientId, serverAt)
  const model = schema.model(op.model)
  switch (op.op) {
    case 'create': {
      const { id, values } = validateCreate(model, op.data)
      const pathId = op.id === undefined ? undefined : checkId(op.id)
      if (pathId !== undefined && id !== undefined && pathId !== id) {
        throw new PulseError('bad_request', 'the id of the mutation and of its data differ')
      }
      const given = new Set(Object.keys(op.data as object).filter((k) => model.specs.has(k)))
      return { kind: 'create', model, id: pathId ?? id, values, given, sync }
    }
    case 'update':
      return {
        kind: 'update',
        model,
        id: checkId(op.id),
        values: validateUpdate(model, op.data),
        ifVersion: checkIfVersion(op.ifVersion),
        sync,
      }
    case 'delete':
      return { kind: 'delete', model, id: checkId(op.id), ifVersion: checkIfVersion(op.ifVersion), sync }
    default:
      throw new PulseError('bad_request', `unknown op "${String((op as { op: unknown }).op)}"`)
  }
}

/**
 * Checks one op against its model and the push it came in (pure): an unknown model or op, a bad
 * id or version, data that breaks the model, a synced op without a device, an `at` that is not a
 * timestamp, or clock text no database can store are refusals of this op alone. A pushed op's
 * `at` later than `serverAt` is clamped to it (§4).
 */
export function checkOp(schema: Schema, op: WriteOp, clientId: string | undefined, serverAt: string): Checked {
  try {
    return { ok: true, op: prepare(schema, op, clientId, serverAt) }
  } catch (thrown) {
    return refusalOf(thrown)
  }
}
