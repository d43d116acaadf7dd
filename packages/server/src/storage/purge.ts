/**
 * Purging old tombstones (§2 expiry): deletes tombstones deleted before a moment, with their
 * change-order entries and history, and raises the purge watermark, so a cursor from before
 * the purge answers `cursor_expired` instead of silently missing those deletions.
 */
import { PulseError } from '@pulse/core'
import { sql } from 'kysely'
import { PULSE_TABLES } from './naming.ts'
import type { SqlContext } from './sql-executor.ts'

/** pulse_meta key of the purge watermark. */
export const PURGED_POSITION_KEY = 'purged_position'

/** The purge watermark: the highest change position removed by a purge, 0 when none. */
export async function readPurgedPosition(ctx: SqlContext): Promise<number> {
  const q = ctx.dialect.builder.selectFrom(PULSE_TABLES.meta).select('value').where('key', '=', PURGED_POSITION_KEY).compile()
  const rows = await ctx.exec.query(q.sql, q.parameters)
  return Number(rows[0]?.value ?? 0) || 0
}

/** Purges tombstones of every migrated model deleted before `before` (ISO); returns how many. */
export async function purgeTombstones(ctx: SqlContext, beforeIso: string): Promise<number> {
  const ms = Date.parse(beforeIso)
  if (Number.isNaN(ms)) throw new PulseError('bad_request', 'purgeTombstones: "before" is not an ISO date-time')
  // Canonical form, so SQLite's text comparison agrees with PostgreSQL's timestamptz one.
  const before = new Date(ms).toISOString()
  const { builder } = ctx.dialect
  const models = await ctx.exec.query(...compiled(builder.selectFrom(PULSE_TABLES.schema).select('model').orderBy('model').compile()))
  let purged = 0
  let highest = 0
  for (const row of models) {
    const table = String(row.model)
    const doomed = builder.selectFrom(table).select(sql.id('id').as('id')).where(sql.id('deletedAt'), '<', before)
    const changes = await ctx.exec.query(
      ...compiled(
        builder.deleteFrom(PULSE_TABLES.changes).where('model', '=', table).where('record_id', 'in', doomed).returning('seq').compile(),
      ),
    )
    for (const c of changes) highest = Math.max(highest, Number(c.seq))
    await ctx.exec.run(
      ...compiled(builder.deleteFrom(PULSE_TABLES.history).where('model', '=', table).where('record_id', 'in', doomed).compile()),
    )
    const removed = await ctx.exec.query(
      ...compiled(builder.deleteFrom(table).where(sql.id('deletedAt'), '<', before).returning(sql.id('id').as('id')).compile()),
    )
    purged += removed.length
  }
  if (highest > (await readPurgedPosition(ctx))) {
    const now = new Date().toISOString()
    const q = builder
      .insertInto(PULSE_TABLES.meta)
      .values({ key: PURGED_POSITION_KEY, value: String(highest), updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(highest), updated_at: now }))
      .compile()
    await ctx.exec.run(q.sql, q.parameters)
  }
  return purged
}

function compiled(q: { sql: string; parameters: readonly unknown[] }): [string, readonly unknown[]] {
  return [q.sql, q.parameters]
}
