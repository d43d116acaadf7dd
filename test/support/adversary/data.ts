/**
 * What the adversary fuzz writes: the task manager's models (examples/tasks: project, task and
 * comment in organizations; item and person global) plus two of its own — `card`, an
 * organization's record with a field people settle by hand (conflicts, §5), and `memo`, a
 * record owned by one user (§8 owner scope) with such a field too — and generators of valid,
 * forged and odd field values.
 */
import { defineModel, defineSchema, f } from '@pulse/core'
import config from '../../../examples/tasks/pulse.config.ts'
import type { Json } from './game.ts'
import type { Prng } from './prng.ts'
import type { ModelScope, World } from './world.ts'

/** An organization's card: concurrent edits of `secret` open conflicts. */
export const card = defineModel('card', {
  fields: { title: f.string({ max: 200, default: '' }), secret: f.string({ nullable: true, merge: 'manual' }), orgId: f.org() },
})

/** A user's own memo: only its owner syncs it. */
export const memo = defineModel('memo', {
  fields: { text: f.string({ max: 200, default: '' }), secret: f.string({ nullable: true, merge: 'manual' }), ownerId: f.owner() },
})

/** The fuzz schema. */
export const adversarySchema = defineSchema([...config.models, card, memo])

/** Each model's scope, for the reference world. */
export const MODEL_SCOPES: ReadonlyMap<string, ModelScope> = new Map(
  [...adversarySchema.models.values()].map((m) => [m.name, m.orgField ? 'org' : m.ownerField ? 'owner' : 'global'] as const),
)

/** The models, and their REST plurals. */
export const MODELS = [...adversarySchema.models.values()].map((m) => m.name)
export const pluralOf = (model: string): string => adversarySchema.model(model).plural

/** Values no field should take: each must be refused with a 4xx (or stored as the text it is), never a 500. */
const ODD_VALUES: readonly unknown[] = [
  'x'.repeat(201),
  'nul\u0000inside',
  'lone \ud800 surrogate',
  '',
  '\u202eright-to-left',
  '💥'.repeat(50),
  1e308,
  -1,
  2 ** 53,
  true,
  null,
  [],
  ['a', 'a', 'b'],
  { nested: { deeper: true } },
  "'; DROP TABLE task; --",
]

/** Where a create puts its record: which organization (or owner) it names. */
export type Placement = 'mine' | 'other' | 'deleted' | 'ghost' | 'none'

/** A generated body, and whether it is one the server must accept from a caller who may write there. */
export interface Generated {
  data: Json
  clean: boolean
  placement: Placement
}

function fieldsOf(model: string, rng: Prng, world: World): Json {
  const w = rng.word()
  switch (model) {
    case 'project':
      return { name: `project ${w}`, ...(rng.chance(0.5) ? { description: `about ${w}` } : {}), archived: rng.chance(0.2) }
    case 'task': {
      const projects = [...world.records.values()].filter((r) => r.model === 'project')
      return {
        title: `task ${w}`,
        description: `do ${w}`,
        status: rng.pick(['todo', 'in_progress', 'done'] as const),
        priority: rng.int(0, 5),
        tags: rng.subset(['red', 'blue', 'green'], 0.4),
        ...(rng.chance(0.3) ? { dueDate: '2027-01-15' } : {}),
        ...(rng.chance(0.3) ? { projectId: rng.pick(projects)?.id ?? null } : {}),
      }
    }
    case 'comment': {
      const tasks = [...world.records.values()].filter((r) => r.model === 'task')
      return {
        taskId: rng.chance(0.8) ? (rng.pick(tasks)?.id ?? '00000000-0000-7000-8000-000000000001') : world.records.size.toString(),
        body: `said ${w}`,
      }
    }
    case 'item':
      return { name: `item ${w}`, price: `${rng.int(0, 9999)}.${rng.int(10, 99)}` }
    case 'person':
      return { firstName: `first ${w}`, lastName: `last ${w}` }
    case 'card':
      return { title: `card ${w}`, secret: `secret ${w}` }
    case 'memo':
      return { text: `memo ${w}`, secret: `secret ${w}` }
    default:
      throw new Error(`no generator for ${model}`)
  }
}

/** Replaces one field of `data` with an odd value (some are valid for some fields). */
function spoil(data: Json, rng: Prng): void {
  const keys = Object.keys(data)
  const key = rng.chance(0.15) ? rng.pick(['__proto__', 'version', 'vclock', 'deletedAt', 'no_such_field']) : rng.pick(keys)
  if (key) data[key] = rng.pick(ODD_VALUES)
}

/** The scope field a model's records name, if any. */
export function scopeField(model: string): 'orgId' | 'ownerId' | undefined {
  const m = adversarySchema.model(model)
  return m.orgField ? 'orgId' : m.ownerField ? 'ownerId' : undefined
}

/** An organization (or owner) id for a placement, as the actor sees the world. */
export function placementId(
  world: World,
  rng: Prng,
  placement: Placement,
  mine: readonly string[],
  field: 'orgId' | 'ownerId',
): string | undefined {
  if (field === 'ownerId') {
    const others = world.users.filter((u) => !mine.includes(u.id)).map((u) => u.id)
    if (placement === 'mine') return mine[0]
    if (placement === 'other' || placement === 'deleted') return rng.pick(others)
    return placement === 'ghost' ? '01900000-0000-7000-8000-0000000000ff' : undefined
  }
  const orgs = [...world.orgs.values()]
  if (placement === 'mine') return rng.pick(mine)
  if (placement === 'other') return rng.pick(orgs.filter((o) => !o.deleted && !mine.includes(o.id)))?.id
  if (placement === 'deleted') return rng.pick(orgs.filter((o) => o.deleted))?.id
  return placement === 'ghost' ? '01900000-0000-7000-8000-0000000000fe' : undefined
}

/**
 * A create's body. `mine` are the organizations (or, for owned models, the user id) the caller
 * may write in; `clean` says the body is valid and placed where the caller may write.
 */
export function createBody(model: string, rng: Prng, world: World, mine: readonly string[]): Generated {
  const data = fieldsOf(model, rng, world)
  const field = scopeField(model)
  let placement: Placement = 'none'
  let clean = true
  if (field) {
    placement = rng.weighted<Placement>([
      [6, 'mine'],
      [2, 'other'],
      [1, 'deleted'],
      [1, 'ghost'],
      [2, 'none'],
    ])
    const id = placementId(world, rng, placement, mine, field)
    if (id !== undefined) data[field] = id
    else placement = 'none'
    // No organization named: valid only for a caller in exactly one (an owner is filled in).
    clean = placement === 'mine' ? mine.length > 0 : placement === 'none' && mine.length === 1
  }
  if (model === 'comment' && !/^[0-9a-f-]{36}$/.test(String(data.taskId))) clean = false
  if (rng.chance(0.12)) {
    spoil(data, rng)
    clean = false
  }
  return { data, clean, placement }
}

/** An update's body: some fields, sometimes a move to another organization or owner, sometimes odd. */
export function updateBody(model: string, rng: Prng, world: World, mine: readonly string[]): Json {
  const all = fieldsOf(model, rng, world)
  const data: Json = Object.fromEntries(rng.subset(Object.entries(all), 0.5))
  if (Object.keys(data).length === 0) {
    const [k, v] = Object.entries(all)[0] as [string, unknown]
    data[k] = v
  }
  const field = scopeField(model)
  if (field && rng.chance(0.2)) {
    const id = placementId(world, rng, rng.pick(['mine', 'other', 'deleted', 'ghost'] as const) ?? 'mine', mine, field)
    if (id !== undefined) data[field] = id
  }
  if (rng.chance(0.1)) spoil(data, rng)
  return data
}
