/**
 * Purging old tombstones (§2 expiry): deletes tombstones deleted before a moment, with their
 * change-order entries and history, and raises the purge watermark, so a cursor from before
 * the purge answers `cursor_expired` instead of silently missing those deletions.
 */
import { PulseError } from '@pulse/core'
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import type { SqlSession } from './dialect.ts'
import { readMeta, writeMeta } from './meta.ts'

/** pulse_meta key of the purge watermark. */
const PURGED_POSITION_KEY = 'purged_position'

/** The purge watermark: the highest change position removed by a purge, 0 when none. */
export async function readPurgedPosition(db: Kysely<Database>): Promise<number> {
  return Number((await readMeta(db, PURGED_POSITION_KEY)) ?? 0) || 0
}

/** Purges tombstones of every migrated model deleted before `before` (ISO); returns how many. */
export async function purgeTombstones(s: SqlSession, beforeIso: string): Promise<number> {
  const ms = Date.parse(beforeIso)
  if (Number.isNaN(ms)) throw new PulseError('bad_request', 'purgeTombstones: "before" is not an ISO date-time')
  // Canonical form, so SQLite's text comparison agrees with PostgreSQL's timestamptz one.
  const before = new Date(ms).toISOString()
  const models = await s.db.selectFrom('pulse_schema').select('model').orderBy('model').execute()
  let purged = 0
  let highest = 0
  for (const { model } of models) {
    const doomed = s.models.selectFrom(model).select('id').where('deletedAt', '<', before)
    const changes = await s.db
      .deleteFrom('pulse_changes')
      .where('model', '=', model)
      .where('record_id', 'in', doomed)
      .returning('seq')
      .execute()
    for (const c of changes) highest = Math.max(highest, c.seq)
    await s.db.deleteFrom('pulse_history').where('model', '=', model).where('record_id', 'in', doomed).execute()
    const removed = await s.models.deleteFrom(model).where('deletedAt', '<', before).executeTakeFirst()
    purged += Number(removed.numDeletedRows)
  }
  if (highest > (await readPurgedPosition(s.db))) await writeMeta(s.db, PURGED_POSITION_KEY, String(highest))
  return purged
}
