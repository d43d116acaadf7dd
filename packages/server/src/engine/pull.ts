/**
 * Pull (PROTOCOL.md §2–§3): the latest state of every record in the caller's scope that
 * changed after a cursor, tombstones included, in change order, a page at a time.
 */
import {
  type Change,
  DEFAULT_PULL_LIMIT,
  decodeCursorParts,
  encodeCursor,
  MAX_PULL_LIMIT,
  type ModelDefinition,
  PulseError,
  type Schema,
} from '@pulse/core'
import type { ChangeFilter, ChangeRow, Storage, StoredRecord } from '../storage/storage.ts'
import type { Actor, Context } from './context.ts'
import { toWire } from './records.ts'
import { inScope } from './scope.ts'

/** A pull request, decoded by the transport. */
export interface PullRequest {
  cursor: string | null
  limit?: number
  /** Only these models (selective sync). */
  models?: readonly string[]
}

/** A page of changes, with the raw positions for the live stream. */
export interface PullPage {
  changes: Change[]
  cursor: string
  hasMore: boolean
}

/** The change-order filter of an actor's scope (§8), narrowed to some models. */
export function changeFilter(schema: Schema, actor: Actor, models: readonly string[] | undefined): ChangeFilter {
  if (models) for (const m of models) schema.model(m) // unknown names are refused, not ignored
  if (actor.admin) return models ? { models } : {}
  const globalModels = [...schema.models.values()].filter((m) => m.scope === 'global').map((m) => m.name)
  return { ...(models ? { models } : {}), scope: { globalModels, userId: actor.userId, orgIds: actor.orgIds } }
}

/** Loads the records behind change rows, in one read per model. */
async function loadRecords(
  storage: Storage,
  schema: Schema,
  rows: readonly ChangeRow[],
  signal?: AbortSignal,
): Promise<Map<string, StoredRecord>> {
  const byModel = new Map<string, string[]>()
  for (const r of rows) {
    if (r.removed) continue
    let ids = byModel.get(r.model)
    if (!ids) {
      ids = []
      byModel.set(r.model, ids)
    }
    ids.push(r.recordId)
  }
  const out = new Map<string, StoredRecord>()
  for (const [name, ids] of byModel) {
    const model = schema.models.get(name)
    if (!model) continue // a model dropped from the configuration: its changes are no longer served
    const found = await storage.getRecords(model, ids, signal)
    for (const [id, record] of found) out.set(`${name}\u0000${id}`, record)
  }
  return out
}

/** Turns change rows into wire changes the actor may see. */
export async function changesFor(
  storage: Storage,
  schema: Schema,
  actor: Actor,
  rows: readonly ChangeRow[],
  signal?: AbortSignal,
): Promise<Change[]> {
  const records = await loadRecords(storage, schema, rows, signal)
  const changes: Change[] = []
  for (const row of rows) {
    // §8: the record left a scope this reader is in (the storage filtered by that scope).
    if (row.removed) {
      if (schema.models.has(row.model)) changes.push({ model: row.model, record: { id: row.recordId }, removed: true })
      continue
    }
    const model = schema.models.get(row.model) as ModelDefinition | undefined
    const record = records.get(`${row.model}\u0000${row.recordId}`)
    if (!model || !record || !inScope(actor, model, record)) continue
    changes.push({ model: row.model, record: toWire(record) })
  }
  return changes
}

/**
 * One page of a pull. Throws `cursor_expired` (410) when tombstones past the cursor were
 * purged, `bad_request` for a forged cursor (malformed, or past the head of the change order)
 * or a bad limit, `not_found` for an unknown model.
 */
export async function pull(storage: Storage, schema: Schema, ctx: Context, request: PullRequest): Promise<PullPage> {
  const limit = request.limit ?? DEFAULT_PULL_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PULL_LIMIT)
    throw new PulseError('bad_request', `limit is 1 to ${MAX_PULL_LIMIT}`)
  const { position, epoch } = decodeCursorParts(request.cursor)
  const currentEpoch = ctx.actor.scopeEpoch ?? 0
  // §8: the caller's memberships changed since this cursor: records may have left its scope.
  if (position > 0 && epoch !== currentEpoch) {
    throw new PulseError('scope_changed', 'your organizations changed: pull from no cursor and drop records the snapshot lacks')
  }
  const filter = changeFilter(schema, ctx.actor, request.models)
  // Read before the rows: everything up to it is committed, so a last page may move the cursor
  // there, past entries this reader cannot see, instead of scanning them again next time.
  const head = await storage.headPosition(ctx.signal)
  if (position > 0) {
    const purged = await storage.purgedPosition(ctx.signal)
    // §2: every cursor handed out is at most the head (or the purge watermark, when the newest
    // entries were purged since): one past both was not handed out by this server.
    if (position > Math.max(head, purged)) throw new PulseError('bad_request', 'not a cursor this server handed out; pull from no cursor')
    if (position < purged) {
      throw new PulseError(
        'cursor_expired',
        'deleted records past this cursor were purged: pull from no cursor and keep your pending changes',
      )
    }
  }
  const rows = await storage.readChanges(position, limit, filter, ctx.signal)
  const last = rows[rows.length - 1]
  const hasMore = rows.length === limit
  const changes = await changesFor(storage, schema, ctx.actor, rows, ctx.signal)
  const end = Math.max(last ? last.seq : position, hasMore ? 0 : head)
  return { changes, cursor: encodeCursor(end, currentEpoch), hasMore }
}
