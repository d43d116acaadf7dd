/**
 * Conflict listings (PROTOCOL.md §5), scoped like every other read (§8): a conflict is listed to
 * whoever may read its record now — its owner or organization as the record holds them today,
 * then the model's read rule, checked on the record itself. `mine` narrows the list to the
 * conflicts the caller's own pushes opened. Newest first, a bounded page at a time.
 */
import type { Conflict, Schema } from '@pulse/core'
import type { Storage } from '../storage/storage.ts'
import type { Context } from './context.ts'
import { changeFilter } from './pull.ts'
import { inScope } from './scope.ts'

/** Most conflicts one page holds (and the default). */
export const MAX_CONFLICTS_LISTED = 500

/** Where a page of conflicts ended: the last conflict's creation time and id. */
export interface ConflictPosition {
  createdAt: string
  id: string
}

/** A conflict listing request, decoded by the transport. */
export interface ConflictListRequest {
  status?: 'open' | 'resolved'
  /** Only conflicts opened by the caller's pushes (for an API token: by services' pushes). */
  mine?: boolean
  /** At most this many (1 to MAX_CONFLICTS_LISTED; default the maximum). */
  limit?: number
  /** Continue after this position (the previous page's `next`). */
  after?: ConflictPosition
}

/** A page of conflicts, and where the next one starts when there may be one. */
export interface ConflictPage {
  items: Conflict[]
  next: ConflictPosition | undefined
}

/**
 * Lists the conflicts the caller may see. The storage query narrows by the records' current
 * scope in the change order; every conflict it returns is then checked on its record (scope and
 * read rule), so a page can come out short, and the next one still starts after the last
 * conflict read: none is skipped or repeated.
 */
export async function listConflicts(storage: Storage, schema: Schema, ctx: Context, request: ConflictListRequest): Promise<ConflictPage> {
  const { actor } = ctx
  const limit = Math.min(Math.max(1, Math.floor(request.limit ?? MAX_CONFLICTS_LISTED)), MAX_CONFLICTS_LISTED)
  const scope = actor.admin ? undefined : changeFilter(schema, actor, undefined).scope
  const rows = await storage.listConflicts(
    {
      ...(request.status ? { status: request.status } : {}),
      ...(request.mine ? { userId: actor.userId } : {}),
      ...(scope ? { scope } : {}),
      ...(request.after ? { before: request.after } : {}),
      limit: limit + 1,
    },
    ctx.signal,
  )
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  const last = page[page.length - 1]
  const next = more && last ? { createdAt: last.createdAt, id: last.id } : undefined
  if (actor.admin) return { items: page, next }

  const ids = new Map<string, string[]>()
  for (const c of page) {
    const list = ids.get(c.model)
    if (list) list.push(c.recordId)
    else ids.set(c.model, [c.recordId])
  }
  const readable = new Set<string>()
  for (const [name, recordIds] of ids) {
    const model = schema.models.get(name)
    if (!model) continue // a model dropped from the configuration: its conflicts are no one's now
    const records = await storage.getRecords(model, recordIds, ctx.signal)
    for (const [id, record] of records) if (inScope(actor, model, record)) readable.add(`${name}\u0000${id}`)
  }
  return { items: page.filter((c) => readable.has(`${c.model}\u0000${c.recordId}`)), next }
}
