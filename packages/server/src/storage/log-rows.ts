/**
 * Rows of Pulse's history and change-order tables, to and from their entries. The column
 * order here is the order every dialect's statements use.
 */
import { decodeJson, encodeJson, type ValueCodec } from './codec.ts'
import type { ChangeEntry, ChangeRow, HistoryEntry, HistoryOp } from './storage.ts'

// A create's changes all have `old: null`; they are stored as `{"$create": {field: new}}`,
// half the JSON of the general form. No field name starts with `$`, so the key is unambiguous.
const CREATE_KEY = '$create'

function encodeChanges(e: HistoryEntry): string {
  if (e.op !== 'create') return encodeJson(e.changes)
  const created: Record<string, unknown> = {}
  for (const [field, change] of Object.entries(e.changes)) {
    if (change.old !== null) return encodeJson(e.changes)
    created[field] = change.new
  }
  return encodeJson({ [CREATE_KEY]: created })
}

function decodeChanges(stored: unknown): HistoryEntry['changes'] {
  const value = (stored ?? {}) as Record<string, unknown>
  const created = value[CREATE_KEY]
  if (typeof created !== 'object' || created === null) return value as HistoryEntry['changes']
  const changes: HistoryEntry['changes'] = {}
  for (const [field, v] of Object.entries(created)) changes[field] = { old: null, new: v }
  return changes
}

/** pulse_history parameters: model, record_id, version, op, changes, user_id, device_id, request_id, at. */
export function encodeHistory(e: HistoryEntry): unknown[] {
  return [e.model, e.recordId, e.version, e.op, encodeChanges(e), e.userId, e.deviceId, e.requestId, e.at]
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** A pulse_history row as an entry. */
export function decodeHistory(codec: ValueCodec, row: Record<string, unknown>): HistoryEntry {
  return {
    model: String(row.model),
    recordId: String(row.record_id),
    version: Number(row.version),
    op: String(row.op) as HistoryOp,
    changes: decodeChanges(decodeJson(codec, row.changes)),
    userId: str(row.user_id),
    deviceId: str(row.device_id),
    requestId: str(row.request_id),
    at: String(row.at),
  }
}

/** pulse_changes parameters (without seq): model, record_id, version, owner_id, org_id, deleted, removed. */
export function encodeChange(e: ChangeEntry, booleanAsInteger: boolean): unknown[] {
  const bool = (v: boolean) => (booleanAsInteger ? (v ? 1 : 0) : v)
  return [e.model, e.recordId, e.version, e.ownerId, e.orgId, bool(e.deleted), bool(e.removed === true)]
}

/** A pulse_changes row as a change. */
export function decodeChange(row: Record<string, unknown>): ChangeRow {
  return {
    seq: Number(row.seq),
    model: String(row.model),
    recordId: String(row.record_id),
    version: Number(row.version),
    ownerId: str(row.owner_id),
    orgId: str(row.org_id),
    deleted: row.deleted === true || row.deleted === 1,
    removed: row.removed === true || row.removed === 1,
  }
}
