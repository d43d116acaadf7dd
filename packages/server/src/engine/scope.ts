/**
 * Scope (PROTOCOL.md §8): who may read and write a record. A record outside the caller's scope
 * is treated exactly like a record that does not exist.
 */
import { type AccessRule, type ModelDefinition, PulseError } from '@pulse/core'
import type { StoredRecord } from '../storage/storage.ts'
import type { Actor } from './context.ts'
import { toWire } from './records.ts'

/** The owner and organization a record's values put it in (null where the model has none). */
export interface RecordScope {
  ownerId: string | null
  orgId: string | null
}

/** Reads a record's owner and organization from its values. */
export function scopeOf(model: ModelDefinition, values: Readonly<Record<string, unknown>>): RecordScope {
  const id = (field: string | undefined) => (field && typeof values[field] === 'string' ? (values[field] as string) : null)
  return { ownerId: id(model.ownerField), orgId: id(model.orgField) }
}

/**
 * True when the actor is in that owner's or organization's scope (§8), by scope alone (no
 * rules): what the change-order filter passes, and what a removal entry is checked against.
 */
export function inScopeOf(actor: Actor, model: ModelDefinition, scope: RecordScope): boolean {
  if (actor.admin) return true
  if (model.ownerField) return scope.ownerId !== null && scope.ownerId === actor.userId
  if (model.orgField) return scope.orgId !== null && actor.orgIds.includes(scope.orgId)
  return true
}

function allows(rule: AccessRule | undefined, actor: Actor, record: StoredRecord): boolean {
  if (!rule) return true
  try {
    return rule(toWire(record), { userId: actor.userId, orgIds: actor.orgIds, admin: actor.admin }) === true
  } catch {
    return false // a rule that fails denies
  }
}

/** True when the actor may see this record: its scope, then the model's read rule (§8). */
export function inScope(actor: Actor, model: ModelDefinition, record: StoredRecord): boolean {
  if (actor.admin) return true
  return inScopeOf(actor, model, scopeOf(model, record.values)) && allows(model.rules.read, actor, record)
}

/** True when the actor may write this record as it is (or would be): readable, and the write rule. */
export function mayWrite(actor: Actor, model: ModelDefinition, record: StoredRecord): boolean {
  if (actor.admin) return true
  return inScope(actor, model, record) && allows(model.rules.write, actor, record)
}

/**
 * Fills the owner and organization fields of a create from the caller, and refuses values
 * that point at someone else (§9): a normal user creates only as themself, in their orgs.
 */
export function assignOwnership(actor: Actor, model: ModelDefinition, values: Record<string, unknown>): void {
  if (model.ownerField) {
    const given = values[model.ownerField]
    if (given === undefined || given === null) {
      if (actor.userId !== null) values[model.ownerField] = actor.userId
      else if (!model.specs.get(model.ownerField)?.nullable) {
        throw new PulseError('validation_failed', `a ${model.name} needs an owner`, [
          { field: model.ownerField, code: 'required', message: 'is required (no user to own it)' },
        ])
      }
    } else if (!actor.admin && given !== actor.userId) {
      throw new PulseError('forbidden', `a ${model.name} can only be created with yourself as ${model.ownerField}`)
    }
  }
  if (model.orgField) {
    const given = values[model.orgField]
    if (given === undefined || given === null) {
      if (actor.orgIds.length === 1) values[model.orgField] = actor.orgIds[0]
      else if (!model.specs.get(model.orgField)?.nullable) {
        throw new PulseError(
          'org_required',
          `a ${model.name} belongs to an organization: name it in "${model.orgField}"` +
            (actor.orgIds.length > 1 ? ' (you belong to several)' : ''),
          [{ field: model.orgField, code: 'required', message: 'is required' }],
        )
      }
    } else if (!actor.admin && !actor.orgIds.includes(given as string)) {
      throw new PulseError('forbidden', `you are not a member of that organization`)
    }
  }
}

/**
 * Refuses an update that would move a record to another owner or an organization the caller
 * is not in (admins excepted).
 */
export function checkOwnershipChange(actor: Actor, model: ModelDefinition, changes: Record<string, unknown>): void {
  if (actor.admin) return
  if (model.ownerField && model.ownerField in changes && changes[model.ownerField] !== actor.userId) {
    throw new PulseError('forbidden', `only an admin can give a ${model.name} to another user`)
  }
  if (model.orgField && model.orgField in changes && !actor.orgIds.includes(changes[model.orgField] as string)) {
    throw new PulseError('forbidden', 'you are not a member of that organization')
  }
}

/**
 * Narrows a list's equality filter to the caller's scope. Returns undefined when nothing can
 * match (a filter naming someone else's owner or organization: answered as an empty list).
 */
export function scopeFilter(actor: Actor, model: ModelDefinition, where: Record<string, unknown>): Record<string, unknown> | undefined {
  if (actor.admin) return where
  if (model.ownerField) {
    if (model.ownerField in where && where[model.ownerField] !== actor.userId) return undefined
    where[model.ownerField] = actor.userId
  }
  if (model.orgField) {
    const given = where[model.orgField]
    if (given !== undefined) return actor.orgIds.includes(given as string) ? where : undefined
    if (actor.orgIds.length === 0) return undefined
    if (actor.orgIds.length > 1) {
      throw new PulseError('org_required', `you belong to several organizations: name one with ?${model.orgField}=`)
    }
    where[model.orgField] = actor.orgIds[0]
  }
  return where
}
