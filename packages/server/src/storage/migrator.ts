/**
 * Runs a migration inside one open transaction, the same way on both databases: creates
 * Pulse's own tables, plans against the stored snapshots, refuses destructive steps unless
 * allowed, applies the steps and records the new snapshots. The caller commits, or rolls back
 * (on a refusal, an error, or for a plan only), so a failing migration applies nothing.
 */
import type { Schema } from '@pulse/core'
import { decodeJson, encodeJson } from './codec.ts'
import type { SqlSession } from './dialect.ts'
import { readMeta, writeMeta } from './meta.ts'
import { planSteps } from './migration-plan.ts'
import { type ModelSnapshot, parseModelSnapshot, sameSnapshot, snapshotModel } from './schema-snapshot.ts'
import { type MigrationPlan, MigrationRefusedError } from './storage.ts'
import { createSystemIndexes, createSystemTables, SYSTEM_UPGRADES } from './system-tables.ts'

/** The shape of Pulse's own tables, stored in pulse_meta: 1 + the upgrade steps (`SYSTEM_UPGRADES`). */
const STORAGE_FORMAT = SYSTEM_UPGRADES.length + 1

/** What to do: plan only, or apply (optionally with data loss). */
export interface MigrationRequest {
  readonly schema: Schema
  readonly apply: boolean
  readonly allowDataLoss?: boolean
}

async function readSnapshots(s: SqlSession): Promise<Map<string, ModelSnapshot>> {
  const rows = await s.db.selectFrom('pulse_schema').select(['model', 'definition']).orderBy('model').execute()
  return new Map(rows.map((row) => [row.model, parseModelSnapshot(row.model, decodeJson(row.definition))]))
}

async function writeSnapshots(s: SqlSession, stored: ReadonlyMap<string, ModelSnapshot>, schema: Schema): Promise<void> {
  const updated_at = new Date().toISOString()
  for (const model of schema.models.values()) {
    const snapshot = snapshotModel(model)
    const before = stored.get(model.name)
    if (before && sameSnapshot(before, snapshot)) continue
    await s.db.deleteFrom('pulse_schema').where('model', '=', model.name).execute()
    await s.db
      .insertInto('pulse_schema')
      .values({ model: model.name, definition: encodeJson(snapshot), updated_at })
      .execute()
  }
  for (const name of stored.keys()) {
    if (!schema.models.has(name)) await s.db.deleteFrom('pulse_schema').where('model', '=', name).execute()
  }
}

/**
 * Upgrades Pulse's own tables from the stored format to the latest. No stored format means the
 * tables were just created, in the latest shape. A format newer than this code knows is refused:
 * an older Pulse must not write tables it does not understand.
 */
async function upgradeSystemTables(s: SqlSession): Promise<void> {
  const value = await readMeta(s.db, 'storage_format')
  if (value === undefined) return
  const stored = Number(value)
  if (!Number.isInteger(stored) || stored < 1 || stored > STORAGE_FORMAT) {
    throw new Error(`the database's storage format is ${String(value)}; this Pulse reads formats 1 to ${STORAGE_FORMAT}: upgrade Pulse`)
  }
  for (const upgrade of SYSTEM_UPGRADES.slice(stored - 1)) await upgrade(s)
}

/**
 * Plans (and with `apply`, applies) a migration in the caller's transaction. Throws
 * `MigrationRefusedError` when a step is destructive and `allowDataLoss` is not set; the
 * caller must then roll back (nothing has been changed but Pulse's own, empty, tables).
 */
export async function runMigration(s: SqlSession, request: MigrationRequest): Promise<MigrationPlan> {
  await createSystemTables(s)
  await upgradeSystemTables(s)
  await createSystemIndexes(s)
  const stored = await readSnapshots(s)
  const planned = await planSteps(s, stored, request.schema)
  const steps = planned.map((p) => p.step)
  if (!request.apply) return { steps, applied: false }
  if (!request.allowDataLoss && steps.some((st) => st.destructive)) throw new MigrationRefusedError({ steps, applied: false })
  for (const p of planned) await p.apply(s)
  await writeSnapshots(s, stored, request.schema)
  await writeMeta(s.db, 'storage_format', String(STORAGE_FORMAT))
  return { steps, applied: true }
}
