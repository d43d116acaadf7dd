/**
 * Model definitions: an application declares each synced model once with `defineModel`, and
 * everything else (tables, validation, REST routes, OpenAPI, record types) derives from it.
 */
import { PulseError } from './errors.ts'
import { type Field, type FieldSpec, MERGE_POLICIES, type MergeSpec } from './fields.ts'

/** System fields every record carries (PROTOCOL.md §1); a model may not declare them. */
export const SYSTEM_FIELDS = ['id', 'version', 'vclock', 'createdAt', 'updatedAt', 'deletedAt'] as const
/** Client-side only flags (§1); reserved as well. */
export const CLIENT_FIELDS = ['localOnly', 'syncError'] as const
/** Every name a model may not use for a field. */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set<string>([
  ...SYSTEM_FIELDS,
  ...CLIENT_FIELDS,
  '__proto__',
  'constructor',
  'prototype',
])

/**
 * The first path segments under `/api/` that Pulse's own routes use (accounts, sync, docs,
 * health). A model's plural names its REST routes (`/api/<plural>`), so it may not be one of
 * these: `user` (plural `users`), `org`, `device`, `doc` are refused at definition time.
 */
export const RESERVED_PLURALS: ReadonlySet<string> = new Set([
  'auth',
  'sync',
  'schema',
  'docs',
  'v1',
  'users',
  'orgs',
  'devices',
  'invitations',
  'tokens',
  'graphql',
])

/** Who syncs a model's records (§8): derived from its owner / org field unless declared. */
export type ScopeKind = 'user' | 'org' | 'global'

/** The fields of a model: name to field. */
export type FieldsShape = Record<string, Field<unknown, boolean>>

/** Who is asking, as access rules see them. */
export interface Caller {
  readonly userId: string | null
  readonly orgIds: readonly string[]
  readonly admin: boolean
}

/**
 * An access rule (§8): a function of the record (wire form) and the caller, on top of the
 * model's scope. Returning false, or throwing, denies.
 */
export type AccessRule = (record: Readonly<Record<string, unknown>>, caller: Caller) => boolean

/** Model-level read and write rules. Admins bypass them. */
export interface AccessRules {
  /** Who may see a record (and so sync, list and read it). */
  readonly read?: AccessRule
  /** Who may create, change or delete a record (checked on its state before and after). */
  readonly write?: AccessRule
}

/** What `defineModel` takes. */
export interface ModelOptions<F extends FieldsShape> {
  readonly fields: F
  /** URL plural (default: name + "s"). */
  readonly plural?: string
  /** Declared scope; must agree with the fields. Default: derived. */
  readonly scope?: ScopeKind
  /** Keep an audit trail of every change (default true). */
  readonly history?: boolean
  /** What an update against a tombstone does (§5). Default `deleteWins`. */
  readonly onDeleted?: 'deleteWins' | 'updateRevives'
  /** Shown in the OpenAPI document. */
  readonly description?: string
  /** Read and write rules on top of the scope (§8). */
  readonly rules?: AccessRules
}

/** A model definition, as the rest of Pulse sees it. */
export interface ModelDefinition<F extends FieldsShape = FieldsShape> {
  readonly name: string
  readonly plural: string
  readonly fields: F
  /** Field specs by name, in declaration order. */
  readonly specs: ReadonlyMap<string, FieldSpec>
  readonly scope: ScopeKind
  /** The owner field's name, when the model has one. */
  readonly ownerField: string | undefined
  /** The organization field's name, when the model has one. */
  readonly orgField: string | undefined
  readonly history: boolean
  readonly onDeleted: 'deleteWins' | 'updateRevives'
  readonly description: string | undefined
  readonly rules: AccessRules
}

const MODEL_NAME = /^[a-z][a-z0-9_]{0,62}$/
const FIELD_NAME = /^[a-zA-Z][a-zA-Z0-9]{0,62}$/
const PLURAL = /^[a-z][a-z0-9_-]{0,62}$/

function definitionError(model: string, message: string): PulseError {
  return new PulseError('bad_request', `model "${model}": ${message}`)
}

function checkMerge(model: string, name: string, spec: FieldSpec): void {
  const merge: MergeSpec = spec.merge
  if (typeof merge === 'function') return
  const policy = typeof merge === 'string' ? merge : merge.policy
  if (!(MERGE_POLICIES as readonly string[]).includes(policy)) {
    throw definitionError(model, `field "${name}" has unknown merge policy "${policy}"`)
  }
  if ((policy === 'max' || policy === 'min') && !['integer', 'decimal', 'datetime', 'date', 'string', 'enum'].includes(spec.kind)) {
    throw definitionError(model, `field "${name}": merge policy "${policy}" needs an ordered field, not ${spec.kind}`)
  }
  if (policy === 'union' && spec.kind !== 'set') {
    throw definitionError(model, `field "${name}": merge policy "union" needs a set field, not ${spec.kind}`)
  }
  if (policy === 'text' && spec.kind !== 'text' && spec.kind !== 'string') {
    throw definitionError(model, `field "${name}": merge policy "text" needs a text or string field, not ${spec.kind}`)
  }
  if (policy === 'state') {
    const order = typeof merge === 'object' && 'order' in merge ? merge.order : spec.values
    if (!order || order.length === 0) {
      throw definitionError(model, `field "${name}": merge policy "state" needs an enum field or an explicit order`)
    }
  }
}

/**
 * Declares a synced model. Throws a PulseError naming the problem when the definition is
 * invalid: a reserved field name, two owner fields, a policy that does not fit its field.
 */
export function defineModel<const F extends FieldsShape>(name: string, options: ModelOptions<F>): ModelDefinition<F> {
  if (!MODEL_NAME.test(name)) {
    throw definitionError(name, 'a model name is lowercase letters, digits and _ (at most 63), starting with a letter')
  }
  if (name.startsWith('pulse_')) throw definitionError(name, 'names starting with "pulse_" are reserved for Pulse')
  const plural = options.plural ?? `${name}s`
  if (!PLURAL.test(plural)) throw definitionError(name, `plural "${plural}" is not a valid URL segment`)
  if (RESERVED_PLURALS.has(plural)) {
    throw definitionError(
      name,
      `its plural "${plural}" would take Pulse's own route /api/${plural}; name the model otherwise or give it another plural (plural: '…')`,
    )
  }

  const specs = new Map<string, FieldSpec>()
  let ownerField: string | undefined
  let orgField: string | undefined
  for (const [fieldName, def] of Object.entries(options.fields)) {
    if (RESERVED_FIELD_NAMES.has(fieldName)) {
      throw definitionError(
        name,
        `"${fieldName}" is a reserved name (system fields: ${[...SYSTEM_FIELDS, ...CLIENT_FIELDS].join(', ')}); rename the field`,
      )
    }
    if (!FIELD_NAME.test(fieldName)) {
      throw definitionError(name, `field name "${fieldName}" must be letters and digits, starting with a letter`)
    }
    const spec = def?.spec
    if (!spec || typeof spec.kind !== 'string') {
      throw definitionError(name, `field "${fieldName}" is not a field: build it with f.string(), f.integer(), …`)
    }
    if (spec.kind === 'owner') {
      if (ownerField) throw definitionError(name, `two owner fields ("${ownerField}", "${fieldName}")`)
      ownerField = fieldName
    }
    if (spec.kind === 'org') {
      if (orgField) throw definitionError(name, `two organization fields ("${orgField}", "${fieldName}")`)
      orgField = fieldName
    }
    if (spec.kind === 'enum' && (!spec.values || spec.values.length === 0)) {
      throw definitionError(name, `enum field "${fieldName}" needs at least one value`)
    }
    if (spec.kind === 'decimal') {
      const { precision = 0, scale = 0 } = spec
      if (!Number.isInteger(precision) || precision < 1 || precision > 38 || !Number.isInteger(scale) || scale < 0 || scale > precision) {
        throw definitionError(name, `decimal field "${fieldName}" needs 1 ≤ precision ≤ 38 and 0 ≤ scale ≤ precision`)
      }
    }
    checkMerge(name, fieldName, spec)
    specs.set(fieldName, spec)
  }
  if (specs.size === 0) throw definitionError(name, 'a model needs at least one field')

  const derived: ScopeKind = ownerField ? 'user' : orgField ? 'org' : 'global'
  const scope = options.scope ?? derived
  if (scope !== derived) {
    throw definitionError(
      name,
      `scope "${scope}" needs ${scope === 'user' ? 'an owner field (f.owner())' : scope === 'org' ? 'an organization field (f.org())' : 'no owner or organization field'}`,
    )
  }
  return {
    name,
    plural,
    fields: options.fields,
    specs,
    scope,
    ownerField,
    orgField,
    history: options.history ?? true,
    onDeleted: options.onDeleted ?? 'deleteWins',
    description: options.description,
    rules: options.rules ?? {},
  }
}

/** The system fields of every record on the wire (§1). */
export interface SystemFields {
  id: string
  version: number
  vclock: Record<string, number>
  createdAt: string
  updatedAt: string
  deletedAt: string | null
}

/** Any record on the wire, whatever its model: system fields plus model fields (§1). */
export type WireRecord = SystemFields & { [field: string]: unknown }

type ValueType<Fd> = Fd extends Field<infer T, boolean> ? T : never
type IsOptional<Fd> = Fd extends Field<unknown, infer O> ? O : false

/** The model fields of a record of model `M`. */
export type FieldValues<M extends ModelDefinition> = { -readonly [K in keyof M['fields']]: ValueType<M['fields'][K]> }

/** A record of model `M` as it travels on the wire: system fields plus model fields. */
export type RecordOf<M extends ModelDefinition> = SystemFields & FieldValues<M>

type RequiredKeys<F> = { [K in keyof F]: IsOptional<F[K]> extends true ? never : K }[keyof F]
type OptionalKeys<F> = { [K in keyof F]: IsOptional<F[K]> extends true ? K : never }[keyof F]

/** What a create of model `M` takes: required fields, optional ones, and optionally the id. */
export type CreateInput<M extends ModelDefinition> = { -readonly [K in RequiredKeys<M['fields']>]: ValueType<M['fields'][K]> } & {
  -readonly [K in OptionalKeys<M['fields']>]?: ValueType<M['fields'][K]>
} & { id?: string }

/** What an update of model `M` takes: any subset of its fields. */
export type UpdateInput<M extends ModelDefinition> = Partial<FieldValues<M>>

/** A set of models by name, with the lookups the engine and transports need. */
export interface Schema {
  readonly models: ReadonlyMap<string, ModelDefinition>
  readonly byPlural: ReadonlyMap<string, ModelDefinition>
  /** Returns the model, or throws `not_found`. */
  model(name: string): ModelDefinition
}

/** Collects models into a schema; refuses duplicate names, plurals, and refs to unknown models. */
export function defineSchema(models: readonly ModelDefinition[]): Schema {
  const byName = new Map<string, ModelDefinition>()
  const byPlural = new Map<string, ModelDefinition>()
  for (const m of models) {
    if (byName.has(m.name)) throw new PulseError('bad_request', `two models are named "${m.name}"`)
    if (byPlural.has(m.plural)) throw new PulseError('bad_request', `two models have the plural "${m.plural}"`)
    byName.set(m.name, m)
    byPlural.set(m.plural, m)
  }
  for (const m of models) {
    for (const [fieldName, spec] of m.specs) {
      if (spec.kind === 'ref' && spec.model && !byName.has(spec.model)) {
        throw new PulseError('bad_request', `model "${m.name}": field "${fieldName}" refers to unknown model "${spec.model}"`)
      }
    }
  }
  return {
    models: byName,
    byPlural,
    model(name: string): ModelDefinition {
      const m = byName.get(name)
      if (!m) throw new PulseError('not_found', `unknown model "${name}"`)
      return m
    },
  }
}
