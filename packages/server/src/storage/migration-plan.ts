/**
 * Plans a migration: compares the stored model snapshots with a Schema and lists the steps,
 * each with the action that applies it. Additive steps (a new model, a new nullable or
 * defaulted field, a widening change) never lose data. A dropped field or model always does; a
 * new required field without default does when the table has rows; any other change is
 * checked value by value and is destructive only when some stored value would not survive.
 */
import type { FieldSpec, ModelDefinition, Schema } from '@pulse/core'
import type { SqlSession } from './dialect.ts'
import { classifyFieldChange, convertValue, describeFieldChange } from './field-change.ts'
import { countRows, defaultFill, fillColumn, readColumn, writeColumn } from './migration-data.ts'
import { addColumn, createIndex, createTable, fieldIndex, modelIndexes } from './model-ddl.ts'
import type { FieldSnapshot, ModelSnapshot } from './schema-snapshot.ts'
import type { MigrationStep } from './storage.ts'

/** A step with the action that applies it inside the migration's transaction. */
export interface PlannedStep {
  readonly step: MigrationStep
  apply(s: SqlSession): Promise<void>
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** A step of `kind` on `model` (a field of it when `field` is set), with its action. */
function planned(
  kind: MigrationStep['kind'],
  target: { model: string; field?: string; destructive?: boolean },
  description: string,
  apply: PlannedStep['apply'],
): PlannedStep {
  return { step: { kind, ...target, destructive: target.destructive ?? false, description }, apply }
}

function planCreateModel(model: ModelDefinition): PlannedStep[] {
  const create = planned(
    'create_table',
    { model: model.name },
    `create table "${model.name}" (${plural(model.specs.size, 'field')})`,
    (c) => createTable(c, model),
  )
  return [
    create,
    ...modelIndexes(model).map((index) =>
      planned('create_index', { model: model.name }, `create index on ${model.name} (${index.columns.join(', ')})`, (c) =>
        createIndex(c, model.name, index),
      ),
    ),
  ]
}

async function planAddField(s: SqlSession, model: ModelDefinition, field: string, spec: FieldSpec): Promise<PlannedStep[]> {
  const where = `${model.name}.${field}`
  const fill = defaultFill(where, spec)
  const rows = await countRows(s, model.name)
  const missing = fill.kind === 'none' && !spec.nullable && rows > 0
  const how =
    fill.kind === 'static'
      ? `, default ${JSON.stringify(fill.value)} for ${plural(rows, 'existing row')}`
      : fill.kind === 'function'
        ? `, default computed for each of ${plural(rows, 'existing row')}`
        : ''
  const description = missing
    ? `add required field ${where} without a default: ${plural(rows, 'existing row')} would have no value (left null)`
    : `add field ${where} (${spec.kind}${spec.nullable ? ', nullable' : ''}${how})`
  const steps = [
    planned('add_column', { model: model.name, field, destructive: missing }, description, async (c) => {
      await addColumn(c, model.name, field, spec)
      if (fill.kind === 'static') await fillColumn(c, model.name, field, spec, fill.value)
      if (fill.kind === 'function') {
        const existing = await readColumn(c, model.name, field, spec)
        await writeColumn(
          c,
          model.name,
          field,
          spec,
          existing.map((r) => ({ id: r.id, value: fill.make() })),
        )
      }
    }),
  ]
  const index = fieldIndex(model.name, field, spec)
  if (index)
    steps.push(planned('create_index', { model: model.name, field }, `create index on ${where}`, (c) => createIndex(c, model.name, index)))
  return steps
}

async function planChangeField(
  s: SqlSession,
  model: ModelDefinition,
  field: string,
  old: FieldSnapshot,
  spec: FieldSpec,
): Promise<PlannedStep[]> {
  const where = `${model.name}.${field}`
  const sameType = s.dialect.columnType(old) === s.dialect.columnType(spec)
  const change = classifyFieldChange(old, spec, sameType)
  if (change === 'none') return []
  const what = describeFieldChange(old, spec)
  if (change === 'metadata')
    return [planned('change_column', { model: model.name, field }, `change field ${where}: ${what} (no data change)`, async () => {})]
  const stored = await readColumn(s, model.name, field, old)
  const converted = stored.map((r) => ({ id: r.id, before: r.value, ...convertValue(spec, r.value) }))
  const lost = converted.filter((r) => r.lossy).length
  const oldIndex = fieldIndex(model.name, field, old)
  const newIndex = fieldIndex(model.name, field, spec)
  const description =
    lost > 0
      ? `change field ${where}: ${what}; ${lost} of ${plural(stored.length, 'stored value')} would be lost (not convertible)`
      : `change field ${where}: ${what}; ${plural(stored.length, 'stored value')} converted`
  return [
    planned('change_column', { model: model.name, field, destructive: lost > 0 }, description, async (c) => {
      if (oldIndex && (!sameType || !newIndex)) await c.db.schema.dropIndex(oldIndex.name).ifExists().execute()
      if (sameType) {
        const changed = converted.filter((r) => JSON.stringify(r.value) !== JSON.stringify(r.before))
        await writeColumn(c, model.name, field, spec, changed)
      } else {
        // A new column type: drop the column, add it anew, and write the converted values.
        await c.db.schema.alterTable(model.name).dropColumn(field).execute()
        await addColumn(c, model.name, field, spec)
        await writeColumn(
          c,
          model.name,
          field,
          spec,
          converted.filter((r) => r.value !== null),
        )
      }
      if (newIndex) await createIndex(c, model.name, newIndex)
    }),
  ]
}

async function planDropField(s: SqlSession, model: ModelDefinition, field: string, old: FieldSnapshot): Promise<PlannedStep> {
  const values = await countRows(s, model.name, field)
  const index = fieldIndex(model.name, field, old)
  const description = `drop field ${model.name}.${field}: its ${plural(values, 'stored value')} would be lost`
  return planned('drop_column', { model: model.name, field, destructive: true }, description, async (c) => {
    // SQLite refuses to drop an indexed column.
    if (index) await c.db.schema.dropIndex(index.name).ifExists().execute()
    await c.db.schema.alterTable(model.name).dropColumn(field).execute()
  })
}

async function planDropModel(s: SqlSession, name: string): Promise<PlannedStep> {
  const rows = await countRows(s, name)
  const description = `drop model "${name}": its ${plural(rows, 'record')}, their history and change entries would be lost`
  return planned('drop_table', { model: name, destructive: true }, description, async (c) => {
    await c.db.schema.dropTable(name).execute()
    await c.db.deleteFrom('pulse_changes').where('model', '=', name).execute()
    await c.db.deleteFrom('pulse_history').where('model', '=', name).execute()
  })
}

/** Lists every step that brings the stored models in line with `schema`. Reads, never writes. */
export async function planSteps(s: SqlSession, stored: ReadonlyMap<string, ModelSnapshot>, schema: Schema): Promise<PlannedStep[]> {
  const additive: PlannedStep[] = []
  const changes: PlannedStep[] = []
  const drops: PlannedStep[] = []
  for (const model of schema.models.values()) {
    const before = stored.get(model.name)
    if (!before) {
      additive.push(...planCreateModel(model))
      continue
    }
    for (const [field, spec] of model.specs) {
      const old = Object.hasOwn(before.fields, field) ? before.fields[field] : undefined
      if (old) changes.push(...(await planChangeField(s, model, field, old, spec)))
      else additive.push(...(await planAddField(s, model, field, spec)))
    }
    for (const [field, old] of Object.entries(before.fields)) {
      if (!model.specs.has(field)) drops.push(await planDropField(s, model, field, old))
    }
  }
  for (const name of stored.keys()) {
    if (!schema.models.has(name)) drops.push(await planDropModel(s, name))
  }
  return [...additive, ...changes, ...drops]
}
