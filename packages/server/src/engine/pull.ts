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
import { pageLength } from '../storage/record-size.ts'
import type { ChangeFilter, ChangeRow, Storage, StoredRecord } from '../storage/storage.ts'
import type { ByteBudget } from './byte-budget.ts'
import type { Actor, Context } from './context.ts'
import { inScope, inScopeOf } from './scope.ts'
import type { WireCache, WireEntry } from './wire-cache.ts'

/** A pull request, decoded by the transport. */
export interface PullRequest {
  cursor: string | null
  limit?: number
  /** Only these models (selective sync). */
  models?: readonly string[]
}

/** Largest page of a pull, list or catch-up in bytes of records, unless configured otherwise (§3). */
export const DEFAULT_MAX_PAGE_BYTES = 4 * 1024 * 1024
/** What a removal (`{ model, record: { id }, removed: true }`) costs on the wire, about. */
const REMOVAL_BYTES = 100

/** How big pull pages may be, and the budget every page in flight shares. */
export interface PageBounds {
  /** A page ends before the record that would take it past this many bytes (one record always goes). */
  maxPageBytes: number
  /** Shared by all pulls of the process: held from before a page is loaded until it is delivered. */
  budget: ByteBudget
}

/** A page of changes. */
export interface PullPage {
  /** The changes, decoded (on first use) from `wire`. */
  readonly changes: Change[]
  /** Each change encoded, in order: what `encodePage` sends. */
  readonly wire: readonly Buffer[]
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

/** The encoded removal change of a record (§8). */
function removalJson(model: string, id: string): Buffer {
  return Buffer.from(JSON.stringify({ model, record: { id }, removed: true }))
}

/**
 * Turns change rows into the encoded changes the actor may see: from the wire cache when it
 * holds the row's version, otherwise loaded (one read per model), encoded and cached.
 */
export async function wireChangesFor(
  storage: Storage,
  schema: Schema,
  cache: WireCache,
  actor: Actor,
  rows: readonly ChangeRow[],
  hits: readonly (WireEntry | undefined)[],
  signal?: AbortSignal,
): Promise<Buffer[]> {
  const misses = rows.filter((r, i) => !r.removed && !hits[i])
  const records = misses.length > 0 ? await loadRecords(storage, schema, misses, signal) : undefined
  const out: Buffer[] = []
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as ChangeRow
    const model = schema.models.get(row.model) as ModelDefinition | undefined
    if (!model) continue // a model dropped from the configuration: its changes are no longer served
    // §8: the record left a scope this reader is in (the storage filtered by that scope).
    if (row.removed) {
      out.push(removalJson(row.model, row.recordId))
      continue
    }
    const hit = hits[i]
    if (hit) {
      // The scope of exactly the version the change order names (what the storage filtered by).
      if (inScopeOf(actor, model, hit.scope)) out.push(hit.json)
      continue
    }
    const record = records?.get(`${row.model}\u0000${row.recordId}`)
    if (!record || !inScope(actor, model, record)) continue
    // Kept only when it is the state the row names (a later one's position is not known yet).
    out.push(cache.put(model, record, record.version === row.version ? row.seq : undefined).json)
  }
  return out
}

/**
 * The wire size of each row's record: exact for those the cache holds, estimated by the
 * storage for the rest (removals cost a little; records gone since cost nothing).
 */
async function rowSizes(
  storage: Storage,
  schema: Schema,
  rows: readonly ChangeRow[],
  hits: readonly (WireEntry | undefined)[],
  signal?: AbortSignal,
): Promise<number[]> {
  const byModel = new Map<string, string[]>()
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ChangeRow
    if (r.removed || hits[i] || !schema.models.has(r.model)) continue
    let ids = byModel.get(r.model)
    if (!ids) {
      ids = []
      byModel.set(r.model, ids)
    }
    ids.push(r.recordId)
  }
  const sizes = new Map<string, number>()
  for (const [name, ids] of byModel) {
    const found = await storage.recordSizes(schema.model(name), ids, signal)
    for (const [id, size] of found) sizes.set(`${name}\u0000${id}`, size)
  }
  return rows.map((r, i) => (r.removed ? REMOVAL_BYTES : (hits[i]?.json.length ?? sizes.get(`${r.model}\u0000${r.recordId}`) ?? 0)))
}

/**
 * A page as sent: one JSON object, `{<head>"changes":[…],"cursor":…,"hasMore":…}`, built by
 * concatenating the encoded changes (nothing is serialised again). `head` is what comes before
 * (`"type":"changes","id":"…",` on a socket), empty over HTTP.
 */
export function encodePage(page: PullPage, head = ''): Buffer {
  const parts: Buffer[] = [Buffer.from(`{${head}"changes":[`)]
  page.wire.forEach((w, i) => {
    if (i > 0) parts.push(COMMA)
    parts.push(w)
  })
  parts.push(Buffer.from(`],"cursor":${JSON.stringify(page.cursor)},"hasMore":${page.hasMore}}`))
  return Buffer.concat(parts)
}
const COMMA = Buffer.from(',')

/** A page whose `changes` are decoded from its encoded form only when asked for. */
function makePage(wire: Buffer[], cursor: string, hasMore: boolean): PullPage {
  let decoded: Change[] | undefined
  return {
    wire,
    cursor,
    hasMore,
    get changes() {
      decoded ??= wire.map((w) => JSON.parse(w.toString('utf8')) as Change)
      return decoded
    },
  }
}

/**
 * One page of a pull, handed to `deliver` (when given) while its bytes still count against the
 * shared budget, so a transport serialises and sends it inside the bound. A page holds at most
 * `limit` changes and ends before the record that would take it past `maxPageBytes` (`hasMore`
 * is then true); a larger first record comes alone. Throws `cursor_expired` (410) when
 * tombstones past the cursor were purged, `bad_request` for a forged cursor (malformed, or past
 * the head of the change order) or a bad limit, `not_found` for an unknown model.
 */
export async function pull(
  storage: Storage,
  schema: Schema,
  ctx: Context,
  request: PullRequest,
  bounds: PageBounds,
  cache: WireCache,
  deliver?: (page: PullPage) => void | Promise<void>,
): Promise<PullPage> {
  const limit = request.limit ?? DEFAULT_PULL_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PULL_LIMIT)
    throw new PulseError('bad_request', `limit is 1 to ${MAX_PULL_LIMIT}`)
  const { position, epoch } = decodeCursorParts(request.cursor)
  // A cursor handed out, even at position 0 (a pull of an empty change order), is incremental:
  // the client keeps what it has. Only no cursor is a snapshot.
  const given = request.cursor !== null && request.cursor !== undefined && request.cursor !== ''
  const currentEpoch = ctx.actor.scopeEpoch ?? 0
  const filter = changeFilter(schema, ctx.actor, request.models)
  // Read before the rows: everything up to it is committed, so a last page may move the cursor
  // there, past entries this reader cannot see, instead of scanning them again next time.
  const head = await storage.headPosition(ctx.signal)
  const purged = given ? await storage.purgedPosition(ctx.signal) : 0
  // §2: every cursor handed out is at most the head (or the purge watermark, when the newest
  // entries were purged since): one past both was not handed out by this database — forged, or
  // kept by a client across a restore from a backup. Either way the client must start afresh.
  if (position > Math.max(head, purged))
    throw new PulseError('cursor_expired', "this server's change order does not reach this cursor: pull from no cursor")
  // §8: the caller's memberships changed since this cursor: records may have left its scope.
  if (given && epoch !== currentEpoch) {
    throw new PulseError('scope_changed', 'your organizations changed: pull from no cursor and drop records the snapshot lacks')
  }
  if (given && position < purged) {
    throw new PulseError(
      'cursor_expired',
      'deleted records past this cursor were purged: pull from no cursor and keep your pending changes',
    )
  }
  const read = await storage.readChanges(position, limit, filter, ctx.signal)
  // Changes the cache holds at the version read need neither a size estimate nor a record read.
  const hits = read.map((r) => (r.removed ? undefined : cache.get(r.model, r.recordId, r.seq, r.version)))
  const sizes = await rowSizes(storage, schema, read, hits, ctx.signal)
  // §3: the page ends at the byte bound too; where is decided before any record is loaded.
  const length = pageLength(sizes, bounds.maxPageBytes)
  const rows = read.slice(0, length)
  const bytes = sizes.slice(0, length).reduce((a, b) => a + b, 0)
  const release = await bounds.budget.acquire(bytes, ctx.signal)
  try {
    const last = rows[rows.length - 1]
    const hasMore = length < read.length || read.length === limit
    const wire = await wireChangesFor(storage, schema, cache, ctx.actor, rows, hits.slice(0, length), ctx.signal)
    const end = Math.max(last ? last.seq : position, hasMore ? 0 : head)
    const page = makePage(wire, encodeCursor(end, currentEpoch), hasMore)
    if (deliver) await deliver(page)
    return page
  } finally {
    release()
  }
}
