/**
 * Runs a migration inside one open transaction, the same way on both databases: creates
 * Pulse's own tables, plans against the stored snapshots, refuses destructive steps unless
 * allowed, applies the steps and records the new snapshots. The caller commits, or rolls back
 * (on a refusal, an error, or for a plan only), so a failing migration applies nothing.
 */
import type { Schema } from '@pulse/core'
import { decodeJson, encodeJson } from './codec.ts'
import { deleteWhere } from './migration-data.ts'
import { planSteps } from './migration-plan.ts'
import { PULSE_TABLES } from './naming.ts'
import { type ModelSnapshot, parseModelSnapshot, sameSnapshot, snapshotModel } from './schema-snapshot.ts'
import type { SqlContext } from './sql-executor.ts'
import { type MigrationPlan, MigrationRefusedError } from './storage.ts'

/**
 * The shape of Pulse's own tables, stored in pulse_meta: 1 + the upgrade steps the dialect lists
 * (`SqlDialect.systemUpgrades`). A database of an older format is upgraded by `migrate`.
 */
function storageFormat(ctx: SqlContext): number {
  return ctx.dialect.systemUpgrades.length + 1
}

/** What to do: plan only, or apply (optionally with data loss). */
export interface MigrationRequest {
  readonly schema: Schema
  readonly apply: boolean
  readonly allowDataLoss?: boolean
}

async function readSnapshots(ctx: SqlContext): Promise<Map<string, ModelSnapshot>> {
  const q = ctx.dialect.builder.selectFrom(PULSE_TABLES.schema).select(['model', 'definition']).orderBy('model').compile()
  const rows = await ctx.exec.query(q.sql, q.parameters)
  const stored = new Map<string, ModelSnapshot>()
  for (const row of rows) {
    const name = String(row.model)
    stored.set(name, parseModelSnapshot(name, decodeJson(ctx.dialect.codec, row.definition)))
  }
  return stored
}

async function writeSnapshots(ctx: SqlContext, stored: ReadonlyMap<string, ModelSnapshot>, schema: Schema): Promise<void> {
  const now = new Date().toISOString()
  for (const model of schema.models.values()) {
    const snapshot = snapshotModel(model)
    const before = stored.get(model.name)
    if (before && sameSnapshot(before, snapshot)) continue
    await deleteWhere(ctx, PULSE_TABLES.schema, 'model', model.name)
    const q = ctx.dialect.builder
      .insertInto(PULSE_TABLES.schema)
      .values({ model: model.name, definition: encodeJson(snapshot), updated_at: now })
      .compile()
    await ctx.exec.run(q.sql, q.parameters)
  }
  for (const name of stored.keys()) {
    if (!schema.models.has(name)) await deleteWhere(ctx, PULSE_TABLES.schema, 'model', name)
  }
}

async function recordFormat(ctx: SqlContext): Promise<void> {
  const format = String(storageFormat(ctx))
  const q = ctx.dialect.builder
    .insertInto(PULSE_TABLES.meta)
    .values({ key: 'storage_format', value: format, updated_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: format, updated_at: new Date().toISOString() }))
    .compile()
  await ctx.exec.run(q.sql, q.parameters)
}

/**
 * Upgrades Pulse's own tables from the stored format to the latest. No stored format means the
 * tables were just created, in the latest shape. A format newer than this code knows is refused:
 * an older Pulse must not write tables it does not understand.
 */
async function upgradeSystemTables(ctx: SqlContext): Promise<void> {
  const q = ctx.dialect.builder.selectFrom(PULSE_TABLES.meta).select('value').where('key', '=', 'storage_format').compile()
  const [row] = await ctx.exec.query(q.sql, q.parameters)
  if (row === undefined) return
  const stored = Number(row.value)
  const latest = storageFormat(ctx)
  if (!Number.isInteger(stored) || stored < 1 || stored > latest) {
    throw new Error(`the database's storage format is ${String(row.value)}; this Pulse reads formats 1 to ${latest}: upgrade Pulse`)
  }
  for (const step of ctx.dialect.systemUpgrades.slice(stored - 1)) for (const ddl of step) await ctx.exec.run(ddl)
}

/**
 * Plans (and with `apply`, applies) a migration in the caller's transaction. Throws
 * `MigrationRefusedError` when a step is destructive and `allowDataLoss` is not set; the
 * caller must then roll back (nothing has been changed but Pulse's own, empty, tables).
 */
export async function runMigration(ctx: SqlContext, request: MigrationRequest): Promise<MigrationPlan> {
  for (const ddl of ctx.dialect.systemTables) await ctx.exec.run(ddl)
  await upgradeSystemTables(ctx)
  const stored = await readSnapshots(ctx)
  const planned = await planSteps(ctx, stored, request.schema)
  const steps = planned.map((p) => p.step)
  if (!request.apply) return { steps, applied: false }
  if (!request.allowDataLoss && steps.some((s) => s.destructive)) throw new MigrationRefusedError({ steps, applied: false })
  for (const p of planned) await p.apply(ctx)
  await writeSnapshots(ctx, stored, request.schema)
  await recordFormat(ctx)
  return { steps, applied: true }
}
