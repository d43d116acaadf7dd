/**
 * Conformance: migration plans. Additive steps apply with defaults filled; destructive ones are
 * refused with nothing changed, then applied with allowDataLoss, keeping what the plan keeps.
 */
import { defineModel, defineSchema, f, isPulseError, type ModelDefinition } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { MigrationStep, Storage } from '../storage.ts'
import { insert, makeRecord, nth, type SuiteContext } from './fixtures.ts'

const v1 = defineModel('note', {
  fields: {
    title: f.string({ max: 20 }),
    body: f.text({ nullable: true }),
    points: f.integer({ nullable: true }),
    price: f.decimal({ nullable: true }),
    state: f.enum(['a', 'b']),
    ownerId: f.owner(),
  },
})
const other = defineModel('other', { fields: { label: f.string() } })

async function seed(s: Storage, model: ModelDefinition, values: Record<string, unknown>[]) {
  const records = values.map((v) => makeRecord(model, v))
  await insert(s, model, records)
  return records
}

const kinds = (steps: readonly MigrationStep[]) =>
  steps.map((st) => `${st.kind} ${st.model}${st.field ? `.${st.field}` : ''}${st.destructive ? ' !' : ''}`)
const owner = '0190b4a2-0000-7000-8000-000000000001'

/** Tests of planMigration and migrate. */
export function migrationTests(ctx: SuiteContext): void {
  describe('migrations', () => {
    it('applies additive steps, filling defaults, without allowDataLoss', async () => {
      const s = ctx.storage()
      await s.migrate(defineSchema([v1]))
      const rs = await seed(s, v1, [
        { title: 'one', points: 1, price: '1.50', state: 'a', ownerId: owner },
        { title: 'two', points: null, price: null, state: 'b', ownerId: owner },
      ])
      let n = 0
      const v2 = defineModel('note', {
        fields: {
          title: f.string({ max: 200, description: 'longer now' }),
          body: f.text({ nullable: true, merge: 'text' }),
          points: f.integer({ nullable: true, merge: 'max' }),
          price: f.decimal({ nullable: true }),
          state: f.enum(['a', 'b', 'c']),
          ownerId: f.owner(),
          flag: f.boolean({ default: true }),
          tags: f.set({ default: ['x'] }),
          cost: f.decimal({ default: '5' }),
          serial: f.integer({ default: () => ++n }),
          extra: f.string({ nullable: true }),
        },
      })
      const plan = await s.planMigration(defineSchema([v2, other]))
      expect(plan.steps.every((st) => !st.destructive)).toBe(true)
      expect(kinds(plan.steps)).toEqual([
        'add_column note.flag',
        'add_column note.tags',
        'add_column note.cost',
        'add_column note.serial',
        'add_column note.extra',
        'create_table other',
        'create_index other',
        'change_column note.title',
        'change_column note.body',
        'change_column note.points',
        'change_column note.state',
      ])
      await s.migrate(defineSchema([v2, other]))
      const after = await s.getRecords(
        v2,
        rs.map((r) => r.id),
      )
      const filled = { flag: true, tags: ['x'], cost: '5.00', serial: expect.any(Number), extra: null }
      for (const r of rs) expect(after.get(r.id)?.values).toEqual({ ...r.values, ...filled })
      // A function default is called once per existing row.
      expect(new Set([...after.values()].map((r) => r.values.serial))).toEqual(new Set([1, 2]))
      expect((await s.planMigration(defineSchema([v2, other]))).steps).toEqual([])
    })

    it('refuses destructive steps with nothing changed, then applies them with allowDataLoss', async () => {
      const s = ctx.storage()
      await s.migrate(defineSchema([v1, other]))
      const rs = await seed(s, v1, [
        { title: 'a long title here', body: 'keep?', points: 7, price: '2.50', state: 'b', ownerId: owner },
        { title: 'short', body: null, points: null, price: '-1.25', state: 'a', ownerId: owner },
      ])
      await seed(s, other, [{ label: 'gone soon' }])
      const v3 = defineModel('note', {
        fields: {
          title: f.string({ max: 5 }), // narrowing: one title is too long
          points: f.string({ nullable: true }), // kind change that converts: 7 → "7"
          price: f.decimal({ nullable: true, scale: 3 }), // rescale: "2.50" → "2.500"
          state: f.enum(['a']), // narrowing: "b" is lost
          ownerId: f.owner(),
          due: f.date(), // required, no default, table has rows
        },
      })
      const target = defineSchema([v3])
      const plan = await s.planMigration(target)
      expect(kinds(plan.steps)).toEqual([
        'add_column note.due !',
        'change_column note.title !',
        'change_column note.points',
        'change_column note.price',
        'change_column note.state !',
        'drop_column note.body !',
        'drop_table other !',
      ])
      const refused = await s.migrate(target).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect((refused as Error).name).toBe('MigrationRefusedError')
      expect((refused as { plan: { steps: MigrationStep[] } }).plan.steps).toEqual(plan.steps)
      expect((refused as Error).message).toContain('drop field note.body')
      // Nothing changed: the old definition still reads everything, the plan is the same.
      expect(await s.getRecord(v1, nth(rs, 0).id)).toEqual(rs[0])
      expect(await s.listRecords(other, { limit: 5 })).toHaveLength(1)
      expect((await s.planMigration(target)).steps).toEqual(plan.steps)

      await s.migrate(target, { allowDataLoss: true })
      const [a, b] = [await s.getRecord(v3, nth(rs, 0).id), await s.getRecord(v3, nth(rs, 1).id)]
      expect(a?.values).toEqual({ title: 'a lon', points: '7', price: '2.500', state: null, ownerId: owner, due: null })
      expect(b?.values).toEqual({ title: 'short', points: null, price: '-1.250', state: 'a', ownerId: owner, due: null })
      expect({ ...a, values: {} }).toEqual({ ...rs[0], values: {} })
      expect((await s.planMigration(target)).steps).toEqual([])
      // The dropped model is gone; adding it back makes a new, empty table.
      await s.migrate(defineSchema([v3, other]))
      expect(await s.listRecords(other, { limit: 5 })).toEqual([])
    })

    it('treats changes as safe when every stored value converts, and empty tables as safe', async () => {
      const s = ctx.storage()
      const base = defineModel('note', { fields: { n: f.integer({ nullable: true }), label: f.string() } })
      await s.migrate(defineSchema([base]))
      await seed(s, base, [
        { n: 3, label: 'x' },
        { n: null, label: 'y' },
      ])
      const widened = defineModel('note', { fields: { n: f.decimal({ nullable: true }), label: f.string(), must: f.integer() } })
      const empty = defineModel('fresh', { fields: { a: f.string() } })
      await s.migrate(defineSchema([base, empty]))
      const fresh = defineModel('fresh', { fields: { a: f.string(), b: f.integer() } })
      const plan = await s.planMigration(defineSchema([widened, fresh]))
      expect(kinds(plan.steps)).toEqual(['add_column note.must !', 'add_column fresh.b', 'change_column note.n'])
    })

    it('applies nothing when a step fails midway', async () => {
      const s = ctx.storage()
      await s.migrate(defineSchema([v1]))
      const rs = await seed(s, v1, [
        { title: 'a', state: 'a', ownerId: owner },
        { title: 'b', state: 'a', ownerId: owner },
      ])
      let calls = 0
      const failing = defineModel('note', {
        fields: {
          ...v1.fields,
          early: f.string({ default: 'set' }),
          later: f.integer({
            default: () => {
              calls += 1
              if (calls === 2) throw new Error('default failed')
              return calls
            },
          }),
        },
      })
      await expect(s.migrate(defineSchema([failing, other]))).rejects.toThrow('default failed')
      expect(kinds((await s.planMigration(defineSchema([v1]))).steps)).toEqual([])
      expect(await s.getRecord(v1, nth(rs, 0).id)).toEqual(rs[0])
    })

    it('refuses an invalid static default with bad_request', async () => {
      const s = ctx.storage()
      await s.migrate(defineSchema([v1]))
      const bad = defineModel('note', { fields: { ...v1.fields, n: f.integer({ default: 'x' as unknown as number }) } })
      const err = await s.migrate(defineSchema([bad])).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isPulseError(err) && err.code === 'bad_request').toBe(true)
    })
  })
}
