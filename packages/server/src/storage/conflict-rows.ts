/**
 * Conflicts (§5 conflict objects) in `pulse_conflicts`: stored, read, locked, updated, listed.
 */
import type { Conflict } from '@pulse/core'
import { type Insertable, type Kysely, type Selectable, sql } from 'kysely'
import { decodeJson, encodeJson } from './codec.ts'
import type { ConflictsTable, Database } from './database.ts'
import type { ConflictQuery } from './storage.ts'

function encodeConflict(c: Conflict): Insertable<ConflictsTable> {
  return {
    id: c.id,
    model: c.model,
    record_id: c.recordId,
    fields: encodeJson(c.fields),
    base: encodeJson(c.base),
    local: encodeJson(c.local),
    remote: encodeJson(c.remote),
    client_id: c.clientId,
    user_id: c.userId,
    created_at: c.createdAt,
    status: c.status,
    resolution: c.resolution === undefined ? null : encodeJson(c.resolution),
  }
}

function decodeConflict(row: Selectable<ConflictsTable>): Conflict {
  const resolution = decodeJson(row.resolution) as Conflict['resolution'] | null
  return {
    id: row.id,
    model: row.model,
    recordId: row.record_id,
    fields: decodeJson(row.fields) as string[],
    base: decodeJson(row.base) as Record<string, unknown>,
    local: decodeJson(row.local) as Record<string, unknown>,
    remote: decodeJson(row.remote) as Record<string, unknown>,
    clientId: row.client_id,
    userId: row.user_id,
    createdAt: row.created_at,
    status: row.status,
    ...(resolution ? { resolution } : {}),
  }
}

/** Stores new conflicts. */
export async function insertConflicts(db: Kysely<Database>, conflicts: readonly Conflict[]): Promise<void> {
  for (const conflict of conflicts) await db.insertInto('pulse_conflicts').values(encodeConflict(conflict)).execute()
}

/** One conflict by id, locked until the transaction ends. */
export async function selectConflict(db: Kysely<Database>, id: string): Promise<Conflict | undefined> {
  const row = await db.selectFrom('pulse_conflicts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && decodeConflict(row)
}

/** Replaces a stored conflict; throws when there is none with its id. */
export async function updateConflict(db: Kysely<Database>, conflict: Conflict): Promise<void> {
  const { id, ...values } = encodeConflict(conflict)
  const result = await db.updateTable('pulse_conflicts').set(values).where('id', '=', id).executeTakeFirst()
  if (result.numUpdatedRows !== 1n) throw new Error(`updateConflict: no conflict with id ${id}`)
}

/**
 * Conflicts newest first, by user, status and position when given; with a scope, joined to each
 * record's live change-order entry (its owner and organization now).
 */
export async function listConflicts(db: Kysely<Database>, query: ConflictQuery): Promise<Conflict[]> {
  let q = db.selectFrom('pulse_conflicts as c').selectAll('c')
  if (query.scope) {
    const { globalModels, userId, orgIds } = query.scope
    q = q
      .innerJoin('pulse_changes as ch', (join) =>
        join.onRef('ch.model', '=', 'c.model').onRef('ch.record_id', '=', 'c.record_id').on('ch.removed', '=', false),
      )
      .where((eb) => {
        const visible = []
        if (globalModels.length > 0) visible.push(eb('ch.model', 'in', [...globalModels]))
        if (userId !== null) visible.push(eb('ch.owner_id', '=', userId))
        if (orgIds.length > 0) visible.push(eb('ch.org_id', 'in', [...orgIds]))
        return visible.length > 0 ? eb.or(visible) : sql<boolean>`1 = 0`
      })
  }
  if (query.userId !== undefined) q = query.userId === null ? q.where('c.user_id', 'is', null) : q.where('c.user_id', '=', query.userId)
  if (query.status !== undefined) q = q.where('c.status', '=', query.status)
  if (query.before) {
    const { createdAt, id } = query.before
    q = q.where((eb) => eb.or([eb('c.created_at', '<', createdAt), eb.and([eb('c.created_at', '=', createdAt), eb('c.id', '<', id)])]))
  }
  const rows = await q
    .orderBy('c.created_at', 'desc')
    .orderBy('c.id', 'desc')
    .limit(Math.max(0, Math.floor(query.limit)))
    .execute()
  return rows.map(decodeConflict)
}
