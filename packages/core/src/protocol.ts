/**
 * The wire messages of the sync protocol (PROTOCOL.md §3–§6), as types and as parsers that
 * check untrusted input structurally. Model-level validation of `data` is the engine's; a
 * parser refuses only what cannot be answered per mutation (no `mid`, no `id`, …).
 */
import { type FieldIssue, PulseError } from './errors.ts'
import { parseHlc } from './hlc.ts'
import type { WireRecord } from './model.ts'
import { isUuid } from './validate.ts'
import { isValidClock, type VectorClock } from './vector-clock.ts'

/**
 * The protocol version this code speaks (§6 `schemaVersion`). 2: `hello`, `pull` and `push`
 * may carry an `id` that the reply ending them echoes. 3: a push result of a mid already
 * recorded carries `replayed: true` (§4; older clients ignore it).
 */
export const PROTOCOL_VERSION = 3
/** The oldest version a server still serves: a hello naming one from here to PROTOCOL_VERSION is welcome. */
export const MIN_PROTOCOL_VERSION = 1
/** Longest request id (§6). */
export const MAX_REQUEST_ID_LENGTH = 64
/** Most mutations one push may carry. */
export const MAX_PUSH_MUTATIONS = 1000
/** Pull page sizes (§3). */
export const DEFAULT_PULL_LIMIT = 500
export const MAX_PULL_LIMIT = 5000

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A mutation's operation. */
export type MutationOp = 'create' | 'update' | 'delete'

/** One local change a client pushes (§4). */
export interface Mutation {
  /** The client's mutation id: strictly increasing per client. */
  mid: number
  model: string
  op: MutationOp
  id: string
  /** The server version the edit started from (absent on create). */
  baseVersion?: number
  /** The record's clock after this edit. */
  vclock: VectorClock
  /** All fields (create), the changed fields (update), nothing (delete). */
  data?: Record<string, unknown>
  /** When the edit was made (HLC time, ISO-8601). */
  at: string
}

/** `POST /api/sync/push` body. */
export interface PushRequest {
  clientId: string
  mutations: Mutation[]
}

/** What became of one mutation (§4 table). */
export type PushStatus = 'applied' | 'merged' | 'conflict' | 'stale' | 'duplicate' | 'rejected'

/** A conflict a person must settle (§5). */
export interface Conflict {
  id: string
  model: string
  recordId: string
  fields: string[]
  base: Record<string, unknown>
  local: Record<string, unknown>
  remote: Record<string, unknown>
  clientId: string | null
  userId: string | null
  createdAt: string
  status: 'open' | 'resolved'
  resolution?: { choice: 'local' | 'remote' | 'custom'; data: Record<string, unknown>; resolvedAt: string; resolvedBy: string | null }
}

/** The answer for one mutation. */
export interface PushResult {
  mid: number
  status: PushStatus
  record?: WireRecord
  conflict?: Conflict
  error?: { code: string; message: string; field?: string }
  /**
   * The mid was already recorded for this client (§4): the answer is the first one again (a
   * `rejected`, a `conflict`) or `duplicate`. A client that never sent this mutation before
   * learns that an earlier store of the device used the mid.
   */
  replayed?: true
}

/** `POST /api/sync/push` answer. */
export interface PushResponse {
  lastMid: number
  results: PushResult[]
}

/** One entry of a pull or live stream: a record's latest state, or its removal from scope. */
export type Change = { model: string; record: WireRecord; removed?: undefined } | { model: string; record: { id: string }; removed: true }

/** `GET /api/sync/pull` answer, and the body of a `changes` socket message. */
export interface PullResponse {
  changes: Change[]
  cursor: string
  hasMore: boolean
}

/**
 * Socket messages from client to server (§6). `id` (version 2) labels a request: the reply that
 * ends it carries the same `id`.
 */
export type ClientMessage =
  | { type: 'hello'; id?: string; token?: string; clientId: string; cursor: string | null; models?: string[]; schemaVersion?: number }
  | { type: 'pull'; id?: string; cursor: string | null; limit?: number }
  | { type: 'push'; id?: string; mutations: Mutation[] }
  | { type: 'ping' }

/**
 * Socket messages from server to client (§6). `id` is the request's that the message ends: the
 * last catch-up page of a hello, a pull's page, a push's result, or the error that refused one.
 */
export type ServerMessage =
  | { type: 'welcome'; userId: string | null; serverTime: string }
  | ({ type: 'changes'; id?: string } & PullResponse)
  | ({ type: 'pushResult'; id?: string } & PushResponse)
  | { type: 'poke' }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'pong' }

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** True when `value` is a usable client (device) id. */
export function isClientId(value: unknown): value is string {
  return typeof value === 'string' && CLIENT_ID.test(value)
}

function parseMutation(value: unknown, i: number, issues: FieldIssue[]): Mutation | undefined {
  const at = (field: string, code: string, message: string) => issues.push({ field: `mutations[${i}].${field}`, code, message })
  if (!isObject(value)) {
    issues.push({ field: `mutations[${i}]`, code: 'wrong_type', message: 'a mutation is an object' })
    return undefined
  }
  const before = issues.length
  const { mid, model, op, id, baseVersion, vclock, data, at: when } = value
  if (!isCount(mid) || mid < 1) at('mid', 'wrong_type', 'a positive integer')
  if (typeof model !== 'string' || model.length === 0 || model.length > 63) at('model', 'wrong_type', 'a model name')
  if (op !== 'create' && op !== 'update' && op !== 'delete') at('op', 'invalid_choice', 'create, update or delete')
  if (!isUuid(id)) at('id', 'invalid_id', 'a UUID')
  if (baseVersion !== undefined && baseVersion !== null && (!isCount(baseVersion) || baseVersion < 1))
    at('baseVersion', 'wrong_type', 'a positive integer')
  if (op !== 'create' && (baseVersion === undefined || baseVersion === null))
    at('baseVersion', 'required', 'updates and deletes name the version they started from')
  if (!isValidClock(vclock)) at('vclock', 'invalid_clock', 'an object of device id to non-negative integer')
  if (data !== undefined && data !== null && !isObject(data)) at('data', 'wrong_type', 'an object')
  if (op !== 'delete' && !isObject(data)) at('data', 'required', 'creates and updates carry data')
  if (typeof when !== 'string' || !parseHlc(when)) at('at', 'invalid_datetime', 'an ISO-8601 date-time')
  if (issues.length > before) return undefined
  return {
    mid: mid as number,
    model: model as string,
    op: op as MutationOp,
    id: (id as string).toLowerCase(),
    ...(typeof baseVersion === 'number' ? { baseVersion } : {}),
    vclock: vclock as VectorClock,
    ...(isObject(data) ? { data } : {}),
    at: when as string,
  }
}

/**
 * Checks a list of mutations: each well-formed, `mid`s strictly increasing, at most
 * MAX_PUSH_MUTATIONS. Throws `bad_request` listing every problem (the push is refused whole:
 * a mutation without a usable `mid` cannot get a result of its own).
 */
export function parseMutations(value: unknown): Mutation[] {
  if (!Array.isArray(value)) throw new PulseError('bad_request', 'mutations must be an array')
  if (value.length > MAX_PUSH_MUTATIONS) throw new PulseError('payload_too_large', `at most ${MAX_PUSH_MUTATIONS} mutations per push`)
  const issues: FieldIssue[] = []
  const out: Mutation[] = []
  value.forEach((m, i) => {
    const parsed = parseMutation(m, i, issues)
    if (!parsed) return
    const prev = out[out.length - 1]
    if (prev && parsed.mid <= prev.mid)
      issues.push({ field: `mutations[${i}].mid`, code: 'not_increasing', message: 'mids must strictly increase' })
    out.push(parsed)
  })
  if (issues.length > 0) throw new PulseError('bad_request', 'the push has malformed mutations', issues.slice(0, 100))
  return out
}

/** Checks a push body (§4). Throws `bad_request` with every problem. */
export function parsePushRequest(value: unknown): PushRequest {
  if (!isObject(value)) throw new PulseError('bad_request', 'a push is an object { clientId, mutations }')
  if (!isClientId(value.clientId)) {
    throw new PulseError('bad_request', 'clientId must be 1-128 letters, digits or ._:-', [
      { field: 'clientId', code: 'invalid_id', message: 'a device id' },
    ])
  }
  return { clientId: value.clientId, mutations: parseMutations(value.mutations) }
}

function parseModels(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.length > 200 || !value.every((m) => typeof m === 'string' && m.length <= 63)) {
    throw new PulseError('bad_request', 'models is a list of model names')
  }
  return value as string[]
}

/** True when `value` is a usable request id (§6). */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH
}

/** Checks one socket message from a client (§6). Throws `bad_request` when malformed. */
export function parseClientMessage(value: unknown): ClientMessage {
  if (!isObject(value) || typeof value.type !== 'string') throw new PulseError('bad_request', 'a message is a JSON object with a "type"')
  const cursor = value.cursor
  if (cursor !== undefined && cursor !== null && (typeof cursor !== 'string' || cursor.length > 512)) {
    throw new PulseError('bad_request', 'cursor is a string the server handed out, or null')
  }
  if (value.id !== undefined && !isRequestId(value.id)) {
    throw new PulseError('bad_request', `id is a string of 1 to ${MAX_REQUEST_ID_LENGTH} characters`)
  }
  const id = isRequestId(value.id) ? { id: value.id } : {}
  switch (value.type) {
    case 'hello': {
      if (!isClientId(value.clientId)) throw new PulseError('bad_request', 'hello needs a clientId')
      if (value.token !== undefined && typeof value.token !== 'string') throw new PulseError('bad_request', 'token is a string')
      if (value.schemaVersion !== undefined && !isCount(value.schemaVersion))
        throw new PulseError('bad_request', 'schemaVersion is an integer')
      const models = parseModels(value.models)
      return {
        type: 'hello',
        ...id,
        clientId: value.clientId,
        cursor: (cursor as string | undefined) ?? null,
        ...(typeof value.token === 'string' ? { token: value.token } : {}),
        ...(models ? { models } : {}),
        ...(typeof value.schemaVersion === 'number' ? { schemaVersion: value.schemaVersion } : {}),
      }
    }
    case 'pull': {
      if (value.limit !== undefined && (!isCount(value.limit) || value.limit < 1 || value.limit > MAX_PULL_LIMIT)) {
        throw new PulseError('bad_request', `limit is 1 to ${MAX_PULL_LIMIT}`)
      }
      return {
        type: 'pull',
        ...id,
        cursor: (cursor as string | undefined) ?? null,
        ...(typeof value.limit === 'number' ? { limit: value.limit } : {}),
      }
    }
    case 'push':
      return { type: 'push', ...id, mutations: parseMutations(value.mutations) }
    case 'ping':
      return { type: 'ping' }
    default:
      throw new PulseError('bad_request', `unknown message type "${String(value.type).slice(0, 32)}"`)
  }
}

// --- Messages from the server (§3–§6), checked by clients: a frame that fails is never cast. ---

const PUSH_STATUSES: ReadonlySet<string> = new Set<PushStatus>(['applied', 'merged', 'conflict', 'stale', 'duplicate', 'rejected'])
const CONFLICT_CHOICES: ReadonlySet<string> = new Set(['local', 'remote', 'custom'])

/** A server message that is not what §3–§6 say: the path of the first problem and what was expected there. */
function malformed(path: string, expected: string): never {
  throw new PulseError('bad_request', `the server sent a malformed message: ${path} should be ${expected}`)
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  return isObject(value) ? value : malformed(path, 'an object')
}

function stringAt(value: unknown, path: string): string {
  return typeof value === 'string' ? value : malformed(path, 'a string')
}

function countAt(value: unknown, path: string): number {
  return isCount(value) ? value : malformed(path, 'a non-negative integer')
}

function nullableStringAt(value: unknown, path: string): string | null {
  return value === null ? null : stringAt(value, path)
}

function arrayAt(value: unknown, path: string): unknown[] {
  return Array.isArray(value) ? value : malformed(path, 'an array')
}

/** Checks a record as the server sends it (§1): the system fields typed, model fields as they are. */
export function parseWireRecord(value: unknown, path = 'record'): WireRecord {
  const record = objectAt(value, path)
  stringAt(record.id, `${path}.id`)
  if (countAt(record.version, `${path}.version`) < 1) malformed(`${path}.version`, 'at least 1')
  const clock = objectAt(record.vclock, `${path}.vclock`)
  for (const [device, n] of Object.entries(clock)) countAt(n, `${path}.vclock.${device.slice(0, 64)}`)
  stringAt(record.createdAt, `${path}.createdAt`)
  stringAt(record.updatedAt, `${path}.updatedAt`)
  nullableStringAt(record.deletedAt, `${path}.deletedAt`)
  return record as WireRecord
}

function parseChange(value: unknown, path: string): Change {
  const change = objectAt(value, path)
  const model = stringAt(change.model, `${path}.model`)
  if (change.removed === true)
    return { model, record: { id: stringAt(objectAt(change.record, `${path}.record`).id, `${path}.record.id`) }, removed: true }
  if (change.removed !== undefined) malformed(`${path}.removed`, 'true or absent')
  return { model, record: parseWireRecord(change.record, `${path}.record`) }
}

/** Checks a page of changes (§3 pull answer, §6 `changes`). */
export function parsePullResponse(value: unknown, path = 'page'): PullResponse {
  const page = objectAt(value, path)
  const changes = arrayAt(page.changes, `${path}.changes`).map((c, i) => parseChange(c, `${path}.changes[${i}]`))
  const cursor = stringAt(page.cursor, `${path}.cursor`)
  if (typeof page.hasMore !== 'boolean') malformed(`${path}.hasMore`, 'a boolean')
  return { changes, cursor, hasMore: page.hasMore }
}

function parseFieldValues(value: unknown, path: string): Record<string, unknown> {
  return objectAt(value, path)
}

/** Checks a conflict (§5). */
export function parseConflict(value: unknown, path = 'conflict'): Conflict {
  const c = objectAt(value, path)
  const fields = arrayAt(c.fields, `${path}.fields`).map((f, i) => stringAt(f, `${path}.fields[${i}]`))
  if (c.status !== 'open' && c.status !== 'resolved') malformed(`${path}.status`, '"open" or "resolved"')
  const conflict: Conflict = {
    id: stringAt(c.id, `${path}.id`),
    model: stringAt(c.model, `${path}.model`),
    recordId: stringAt(c.recordId, `${path}.recordId`),
    fields,
    base: parseFieldValues(c.base, `${path}.base`),
    local: parseFieldValues(c.local, `${path}.local`),
    remote: parseFieldValues(c.remote, `${path}.remote`),
    clientId: nullableStringAt(c.clientId, `${path}.clientId`),
    userId: nullableStringAt(c.userId, `${path}.userId`),
    createdAt: stringAt(c.createdAt, `${path}.createdAt`),
    status: c.status,
  }
  if (c.resolution === undefined || c.resolution === null) return conflict
  const r = objectAt(c.resolution, `${path}.resolution`)
  if (typeof r.choice !== 'string' || !CONFLICT_CHOICES.has(r.choice)) malformed(`${path}.resolution.choice`, 'local, remote or custom')
  return {
    ...conflict,
    resolution: {
      choice: r.choice as 'local' | 'remote' | 'custom',
      data: parseFieldValues(r.data, `${path}.resolution.data`),
      resolvedAt: stringAt(r.resolvedAt, `${path}.resolution.resolvedAt`),
      resolvedBy: nullableStringAt(r.resolvedBy, `${path}.resolution.resolvedBy`),
    },
  }
}

function parsePushResult(value: unknown, path: string): PushResult {
  const r = objectAt(value, path)
  const mid = countAt(r.mid, `${path}.mid`)
  if (typeof r.status !== 'string' || !PUSH_STATUSES.has(r.status)) malformed(`${path}.status`, 'a §4 push status')
  const result: PushResult = { mid, status: r.status as PushStatus }
  if (r.record !== undefined) result.record = parseWireRecord(r.record, `${path}.record`)
  if (r.conflict !== undefined) result.conflict = parseConflict(r.conflict, `${path}.conflict`)
  if (r.replayed !== undefined) {
    if (r.replayed !== true) malformed(`${path}.replayed`, 'true, or absent')
    result.replayed = true
  }
  if (r.error !== undefined) {
    const e = objectAt(r.error, `${path}.error`)
    result.error = { code: stringAt(e.code, `${path}.error.code`), message: stringAt(e.message, `${path}.error.message`) }
    if (e.field !== undefined) result.error.field = stringAt(e.field, `${path}.error.field`)
  }
  return result
}

/** Checks a push answer (§4). */
export function parsePushResponse(value: unknown, path = 'answer'): PushResponse {
  const answer = objectAt(value, path)
  const lastMid = countAt(answer.lastMid, `${path}.lastMid`)
  return { lastMid, results: arrayAt(answer.results, `${path}.results`).map((r, i) => parsePushResult(r, `${path}.results[${i}]`)) }
}

/**
 * Checks one socket message from the server (§6). Throws `bad_request` naming the first
 * problem: a malformed message, or a type this protocol version does not have.
 */
export function parseServerMessage(value: unknown): ServerMessage {
  const message = objectAt(value, 'message')
  if (message.id !== undefined && !isRequestId(message.id)) malformed('message.id', 'a request id')
  const id = isRequestId(message.id) ? { id: message.id } : {}
  switch (message.type) {
    case 'welcome':
      return {
        type: 'welcome',
        userId: nullableStringAt(message.userId, 'welcome.userId'),
        serverTime: stringAt(message.serverTime, 'welcome.serverTime'),
      }
    case 'changes':
      return { type: 'changes', ...id, ...parsePullResponse(message, 'changes') }
    case 'pushResult':
      return { type: 'pushResult', ...id, ...parsePushResponse(message, 'pushResult') }
    case 'poke':
      return { type: 'poke' }
    case 'pong':
      return { type: 'pong' }
    case 'error':
      return { type: 'error', ...id, code: stringAt(message.code, 'error.code'), message: stringAt(message.message, 'error.message') }
    default:
      return malformed(
        'message.type',
        `one of welcome, changes, pushResult, poke, pong, error (got ${JSON.stringify(message.type)?.slice(0, 40)})`,
      )
  }
}
