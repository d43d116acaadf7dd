/**
 * Rows of `pulse_conflicts` (§5 conflict objects), to and from Conflict, and the query that
 * lists them. Column order here is the order every dialect's statements use.
 */
import type { Conflict } from '@pulse/core'
import { type CompiledQuery, sql } from 'kysely'
import { decodeJson, encodeJson, type ValueCodec } from './codec.ts'
import type { SqlDialect } from './dialect.ts'
import { PULSE_TABLES } from './naming.ts'
import type { ConflictQuery } from './storage.ts'

/** pulse_conflicts columns, in statement order. */
export const CONFLICT_COLUMNS = [
  'id',
  'model',
  'record_id',
  'fields',
  'base',
  'local',
  'remote',
  'client_id',
  'user_id',
  'created_at',
  'status',
  'resolution',
] as const

/** A conflict as parameters in CONFLICT_COLUMNS order. */
export function encodeConflict(c: Conflict): unknown[] {
  return [
    c.id,
    c.model,
    c.recordId,
    encodeJson(c.fields),
    encodeJson(c.base),
    encodeJson(c.local),
    encodeJson(c.remote),
    c.clientId,
    c.userId,
    c.createdAt,
    c.status,
    c.resolution === undefined ? null : encodeJson(c.resolution),
  ]
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** A pulse_conflicts row as a Conflict. */
export function decodeConflict(codec: ValueCodec, row: Record<string, unknown>): Conflict {
  const resolution = decodeJson(codec, row.resolution) as Conflict['resolution'] | null
  return {
    id: String(row.id),
    model: String(row.model),
    recordId: String(row.record_id),
    fields: (decodeJson(codec, row.fields) ?? []) as string[],
    base: (decodeJson(codec, row.base) ?? {}) as Record<string, unknown>,
    local: (decodeJson(codec, row.local) ?? {}) as Record<string, unknown>,
    remote: (decodeJson(codec, row.remote) ?? {}) as Record<string, unknown>,
    clientId: str(row.client_id),
    userId: str(row.user_id),
    createdAt: String(row.created_at),
    status: row.status === 'resolved' ? 'resolved' : 'open',
    ...(resolution ? { resolution } : {}),
  }
}

/**
 * The query of `listConflicts`: newest first, by user, status and position when given; with a
 * scope, joined to each record's live change-order entry (its owner and organization now).
 */
export function buildConflictQuery(dialect: SqlDialect, query: ConflictQuery): CompiledQuery {
  const c = (column: string) => sql.ref(`c.${column}`)
  let q = dialect.builder.selectFrom(`${PULSE_TABLES.conflicts} as c`).select(CONFLICT_COLUMNS.map((column) => c(column).as(column)))
  if (query.scope) {
    const { globalModels, userId, orgIds } = query.scope
    const live = dialect.codec.booleanAsInteger ? 0 : false
    q = q
      .innerJoin(`${PULSE_TABLES.changes} as ch`, (join) =>
        join.onRef('ch.model', '=', 'c.model').onRef('ch.record_id', '=', 'c.record_id').on('ch.removed', '=', live),
      )
      .where((eb) => {
        const visible = []
        if (globalModels.length > 0) visible.push(eb('ch.model', 'in', [...globalModels]))
        if (userId !== null) visible.push(eb('ch.owner_id', '=', userId))
        if (orgIds.length > 0) visible.push(eb('ch.org_id', 'in', [...orgIds]))
        return visible.length > 0 ? eb.or(visible) : sql<boolean>`1 = 0`
      })
  }
  if (query.userId !== undefined) q = query.userId === null ? q.where(c('user_id'), 'is', null) : q.where(c('user_id'), '=', query.userId)
  if (query.status !== undefined) q = q.where(c('status'), '=', query.status)
  if (query.before) {
    const { createdAt, id } = query.before
    q = q.where((eb) => eb.or([eb(c('created_at'), '<', createdAt), eb.and([eb(c('created_at'), '=', createdAt), eb(c('id'), '<', id)])]))
  }
  return q
    .orderBy(c('created_at'), 'desc')
    .orderBy(c('id'), 'desc')
    .limit(Math.max(0, Math.floor(query.limit)))
    .compile()
}
