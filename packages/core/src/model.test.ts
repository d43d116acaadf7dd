import { describe, expect, expectTypeOf, it } from 'vitest'
import { f } from './fields.ts'
import { type CreateInput, defineModel, defineSchema, type RecordOf } from './model.ts'

const task = defineModel('task', {
  fields: {
    title: f.string({ max: 20 }),
    done: f.boolean({ default: false }),
    note: f.text({ nullable: true }),
    status: f.enum(['todo', 'doing', 'done'], { default: 'todo', merge: 'state' }),
    ownerId: f.owner(),
  },
})

describe('defineModel', () => {
  it('derives plural, scope and owner field', () => {
    expect(task.plural).toBe('tasks')
    expect(task.scope).toBe('user')
    expect(task.ownerField).toBe('ownerId')
    expect(task.specs.get('title')).toMatchObject({ kind: 'string', maxLength: 20, required: true, nullable: false })
    expect(task.specs.get('done')).toMatchObject({ required: false, default: false })
    expect(task.specs.get('note')).toMatchObject({ required: false, nullable: true })
  })

  it('infers record and create types from the definition', () => {
    type Task = RecordOf<typeof task>
    expectTypeOf<Task['title']>().toEqualTypeOf<string>()
    expectTypeOf<Task['note']>().toEqualTypeOf<string | null>()
    expectTypeOf<Task['status']>().toEqualTypeOf<'todo' | 'doing' | 'done'>()
    expectTypeOf<Task['version']>().toEqualTypeOf<number>()
    type In = CreateInput<typeof task>
    expectTypeOf<{ title: string }>().toMatchTypeOf<In>()
    expectTypeOf<{ done: true }>().not.toMatchTypeOf<In>()
  })

  it.each(['id', 'version', 'vclock', 'createdAt', 'updatedAt', 'deletedAt', 'localOnly', 'syncError'])(
    'refuses the reserved name %s',
    (name) => {
      expect(() => defineModel('thing', { fields: { [name]: f.string() } })).toThrow(/reserved name/)
    },
  )

  it('refuses bad names, empty models, two owners and policies that do not fit', () => {
    expect(() => defineModel('Bad Name', { fields: { a: f.string() } })).toThrow(/model name/)
    expect(() => defineModel('pulse_x', { fields: { a: f.string() } })).toThrow(/reserved for Pulse/)
    expect(() => defineModel('thing', { fields: {} })).toThrow(/at least one field/)
    expect(() => defineModel('thing', { fields: { a: f.owner(), b: f.owner() } })).toThrow(/two owner fields/)
    expect(() => defineModel('thing', { fields: { a: f.boolean({ merge: 'max' }) } })).toThrow(/ordered field/)
    expect(() => defineModel('thing', { fields: { a: f.string({ merge: 'union' }) } })).toThrow(/set field/)
    expect(() => defineModel('thing', { fields: { a: f.integer({ merge: 'state' }) } })).toThrow(/enum field/)
    expect(() => defineModel('thing', { fields: { a: f.decimal({ precision: 2, scale: 3 }) } })).toThrow(/precision/)
    expect(() => defineModel('thing', { fields: { a: f.string() }, scope: 'org' })).toThrow(/organization field/)
    expect(() => defineModel('thing', { fields: { 'a-b': f.string() } })).toThrow(/letters and digits/)
  })

  it('refuses plurals that would take a built-in route, naming the route', () => {
    for (const name of ['user', 'doc', 'org', 'device', 'invitation', 'token']) {
      expect(() => defineModel(name, { fields: { a: f.string() } })).toThrow(new RegExp(`/api/${name}s`))
    }
    expect(() => defineModel('thing', { fields: { a: f.string() }, plural: 'auth' })).toThrow(/\/api\/auth/)
    expect(() => defineModel('thing', { fields: { a: f.string() }, plural: 'v1' })).toThrow(/\/api\/v1/)
    expect(defineModel('user', { fields: { a: f.string() }, plural: 'people' }).plural).toBe('people')
  })

  it('builds a schema and refuses duplicates and dangling refs', () => {
    const a = defineModel('a', { fields: { x: f.string() } })
    const b = defineModel('b', { fields: { aId: f.ref('a') } })
    const schema = defineSchema([a, b])
    expect(schema.model('b')).toBe(b)
    expect(schema.byPlural.get('as')).toBe(a)
    expect(() => schema.model('nope')).toThrow(/unknown model/)
    expect(() => defineSchema([a, a])).toThrow(/two models/)
    expect(() => defineSchema([b])).toThrow(/unknown model "a"/)
  })
})
