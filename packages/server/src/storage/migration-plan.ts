/**
 * Plans a migration: compares the stored model snapshots with a Schema and lists the steps,
 * each with the action that applies it. Additive steps (a new model, a new nullable or
 * defaulted field, a widening change) never lose data. A dropped field or model always does; a
 * new required field without default does when the table has rows; any other change is
 * checked value by value and is destructive only when some stored value would not survive.
 */
import type { FieldSpec, ModelDefinition, Schema } from '@pulse/core'
import { classifyFieldChange, convertValue, describeFieldChange } from './field-change.ts'
import { countRows, defaultFill, deleteWhere, fillColumn, readColumn, writeColumn } from './migration-data.ts'
import {
  addColumnSql,
  createIndexSql,
  createTableSql,
  dropColumnSql,
  dropIndexSql,
  dropTableSql,
  fieldIndex,
  modelIndexes,
} from './model-ddl.ts'
import { PULSE_TABLES } from './naming.ts'
import type { FieldSnapshot, ModelSnapshot } from './schema-snapshot.ts'
import type { SqlContext } from './sql-executor.ts'
import type { MigrationStep } from './storage.ts'

/** A step with the action that applies it inside the migration's transaction. */
export interface PlannedStep {
  readonly step: MigrationStep
  apply(ctx: SqlContext): Promise<void>
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

function planCreateModel(model: ModelDefinition): PlannedStep[] {
  const steps: PlannedStep[] = [
    {
      step: {
        kind: 'create_table',
        model: model.name,
        destructive: false,
        description: `create table "${model.name}" (${plural(model.specs.size, 'field')})`,
      },
      apply: (c) => c.exec.run(createTableSql(c.dialect, model)),
    },
  ]
  for (const index of modelIndexes(model)) {
    steps.push({
      step: {
        kind: 'create_index',
        model: model.name,
        destructive: false,
        description: `create index on ${model.name} (${index.columns.join(', ')})`,
      },
      apply: (c) => c.exec.run(createIndexSql(c.dialect, model.name, index)),
    })
  }
  return steps
}

async function planAddField(ctx: SqlContext, model: ModelDefinition, field: string, spec: FieldSpec): Promise<PlannedStep[]> {
  const where = `${model.name}.${field}`
  const fill = defaultFill(where, spec)
  const rows = await countRows(ctx, model.name)
  const missing = fill.kind === 'none' && !spec.nullable && rows > 0
  const how =
    fill.kind === 'static'
      ? `, default ${JSON.stringify(fill.value)} for ${plural(rows, 'existing row')}`
      : fill.kind === 'function'
        ? `, default computed for each of ${plural(rows, 'existing row')}`
        : ''
  const steps: PlannedStep[] = [
    {
      step: {
        kind: 'add_column',
        model: model.name,
        field,
        destructive: missing,
        description: missing
          ? `add required field ${where} without a default: ${plural(rows, 'existing row')} would have no value (left null)`
          : `add field ${where} (${spec.kind}${spec.nullable ? ', nullable' : ''}${how})`,
      },
      async apply(c) {
        await c.exec.run(addColumnSql(c.dialect, model.name, field, spec))
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
      },
    },
  ]
  const index = fieldIndex(model.name, field, spec)
  if (index) {
    steps.push({
      step: { kind: 'create_index', model: model.name, field, destructive: false, description: `create index on ${where}` },
      apply: (c) => c.exec.run(createIndexSql(c.dialect, model.name, index)),
    })
  }
  return steps
}

async function planChangeField(
  ctx: SqlContext,
  model: ModelDefinition,
  field: string,
  old: FieldSnapshot,
  spec: FieldSpec,
): Promise<PlannedStep[]> {
  const where = `${model.name}.${field}`
  const sameType = ctx.dialect.columnType(old) === ctx.dialect.columnType(spec)
  const change = classifyFieldChange(old, spec, sameType)
  if (change === 'none') return []
  const what = describeFieldChange(old, spec)
  if (change === 'metadata') {
    return [
      {
        step: {
          kind: 'change_column',
          model: model.name,
          field,
          destructive: false,
          description: `change field ${where}: ${what} (no data change)`,
        },
        apply: async () => {},
      },
    ]
  }
  const stored = await readColumn(ctx, model.name, field, old)
  const converted = stored.map((r) => ({ id: r.id, before: r.value, ...convertValue(spec, r.value) }))
  const lost = converted.filter((r) => r.lossy).length
  const oldIndex = fieldIndex(model.name, field, old)
  const newIndex = fieldIndex(model.name, field, spec)
  return [
    {
      step: {
        kind: 'change_column',
        model: model.name,
        field,
        destructive: lost > 0,
        description:
          lost > 0
            ? `change field ${where}: ${what}; ${lost} of ${plural(stored.length, 'stored value')} would be lost (not convertible)`
            : `change field ${where}: ${what}; ${plural(stored.length, 'stored value')} converted`,
      },
      async apply(c) {
        if (oldIndex && (!sameType || !newIndex)) await c.exec.run(dropIndexSql(c.dialect, oldIndex))
        if (sameType) {
          const changed = converted.filter((r) => JSON.stringify(r.value) !== JSON.stringify(r.before))
          await writeColumn(c, model.name, field, spec, changed)
        } else {
          // A new column type: drop the column, add it anew, and write the converted values.
          await c.exec.run(dropColumnSql(c.dialect, model.name, field))
          await c.exec.run(addColumnSql(c.dialect, model.name, field, spec))
          await writeColumn(
            c,
            model.name,
            field,
            spec,
            converted.filter((r) => r.value !== null),
          )
        }
        if (newIndex) await c.exec.run(createIndexSql(c.dialect, model.name, newIndex))
      },
    },
  ]
}

async function planDropField(ctx: SqlContext, model: ModelDefinition, field: string, old: FieldSnapshot): Promise<PlannedStep> {
  const values = await countRows(ctx, model.name, field)
  const index = fieldIndex(model.name, field, old)
  return {
    step: {
      kind: 'drop_column',
      model: model.name,
      field,
      destructive: true,
      description: `drop field ${model.name}.${field}: its ${plural(values, 'stored value')} would be lost`,
    },
    async apply(c) {
      // SQLite refuses to drop an indexed column.
      if (index) await c.exec.run(dropIndexSql(c.dialect, index))
      await c.exec.run(dropColumnSql(c.dialect, model.name, field))
    },
  }
}

async function planDropModel(ctx: SqlContext, name: string): Promise<PlannedStep> {
  const rows = await countRows(ctx, name)
  return {
    step: {
      kind: 'drop_table',
      model: name,
      destructive: true,
      description: `drop model "${name}": its ${plural(rows, 'record')}, their history and change entries would be lost`,
    },
    async apply(c) {
      await c.exec.run(dropTableSql(c.dialect, name))
      await deleteWhere(c, PULSE_TABLES.changes, 'model', name)
      await deleteWhere(c, PULSE_TABLES.history, 'model', name)
    },
  }
}

/** Lists every step that brings the stored models in line with `schema`. Reads, never writes. */
export async function planSteps(ctx: SqlContext, stored: ReadonlyMap<string, ModelSnapshot>, schema: Schema): Promise<PlannedStep[]> {
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
      if (old) changes.push(...(await planChangeField(ctx, model, field, old, spec)))
      else additive.push(...(await planAddField(ctx, model, field, spec)))
    }
    for (const [field, old] of Object.entries(before.fields)) {
      if (!model.specs.has(field)) drops.push(await planDropField(ctx, model, field, old))
    }
  }
  for (const name of stored.keys()) {
    if (!schema.models.has(name)) drops.push(await planDropModel(ctx, name))
  }
  return [...additive, ...changes, ...drops]
}
