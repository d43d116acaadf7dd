/**
 * Rows of Pulse's history and change-order tables, to and from their entries, and their reads.
 */
import { decodeJson, encodeJson } from './codec.ts'
import type { SqlSession } from './dialect.ts'
import { prepared } from './prepared.ts'
import type { ChangeEntry, ChangeFilter, ChangeRow, HistoryEntry } from './storage.ts'

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

/** Between the owner and the organization in `scope_left`; neither id holds it (ids are Pulse's own). */
export const SCOPE_SEPARATOR = '|'

/**
 * The `scope_left` of a change-order entry: '' for the record's live entry, the scope it left
 * for a removal, so a record keeps one removal per scope it has left (§8).
 */
export function scopeLeftKey(e: ChangeEntry): string {
  return e.removed === true ? `${e.ownerId ?? ''}${SCOPE_SEPARATOR}${e.orgId ?? ''}` : ''
}

/** pulse_history columns, in the order `encodeHistory` gives their values. */
export const HISTORY_COLUMNS = ['model', 'record_id', 'version', 'op', 'changes', 'user_id', 'device_id', 'request_id', 'at'] as const

/** An entry's values in HISTORY_COLUMNS order. */
export function encodeHistory(e: HistoryEntry): unknown[] {
  return [e.model, e.recordId, e.version, e.op, encodeChanges(e), e.userId, e.deviceId, e.requestId, e.at]
}

const historyAfter = prepared((s, p: { model: string; recordId: string; since: number }) =>
  s.db
    .selectFrom('pulse_history')
    .select(['model', 'record_id as recordId', 'version', 'op', 'changes', 'user_id as userId', 'device_id as deviceId'])
    .select(['request_id as requestId', 'at'])
    .where('model', '=', p.model)
    .where('record_id', '=', p.recordId)
    .where('version', '>', p.since)
    .orderBy('version')
    .orderBy('id'),
)

/** The record's history entries with version > `since`, oldest first. */
export async function selectHistory(s: SqlSession, model: string, recordId: string, since: number): Promise<HistoryEntry[]> {
  const rows = await historyAfter(s, { model, recordId, since })
  return rows.map((row) => ({ ...row, changes: decodeChanges(decodeJson(row.changes)) }))
}

/**
 * Change-order entries after position `after` that pass the filter (§8), in order, at most
 * `limit`; where positions commit out of order (PostgreSQL), only up to the watermark, read
 * first, in its own statement: every position up to it has finished before the rows are read.
 */
export async function selectChanges(
  s: SqlSession,
  after: number,
  limit: number,
  { models, scope }: ChangeFilter = {},
): Promise<ChangeRow[]> {
  const { inList } = s.dialect
  const until = await s.hot.watermark()
  let q = s.db
    .selectFrom('pulse_changes')
    .select(['seq', 'model', 'record_id as recordId', 'version', 'owner_id as ownerId', 'org_id as orgId', 'deleted', 'removed'])
    .where('seq', '>', after)
  if (until !== undefined) q = q.where('seq', '<=', until)
  if (models) q = q.where(inList('model', models))
  if (scope)
    q = q.where((eb) => eb.or([inList('model', scope.globalModels), eb('owner_id', '=', scope.userId), inList('org_id', scope.orgIds)]))
  const rows = await q.orderBy('seq').limit(limit).execute()
  return rows.map((row) => ({ ...row, deleted: Boolean(row.deleted), removed: Boolean(row.removed) }))
}

/**
 * The head of the change order: every position up to it has finished (committed or never
 * will be), 0 when it is empty. The watermark where positions commit out of order, else the
 * highest position.
 */
export async function selectHead(s: SqlSession): Promise<number> {
  const mark = await s.hot.watermark()
  if (mark !== undefined) return mark
  const row = await s.db
    .selectFrom('pulse_changes')
    .select((eb) => eb.fn.max('seq').as('head'))
    .executeTakeFirst()
  return Number(row?.head ?? 0) || 0
}
