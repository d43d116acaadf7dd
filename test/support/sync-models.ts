/** Models for protocol tests: one field per merge policy (PROTOCOL.md §5). */
import { defineModel, defineSchema, f } from '@pulse/core'

/** A note's fields: one per policy. `score` merges as an additive counter (a custom function). */
const noteFields = {
  title: f.string({ max: 200, default: '' }),
  body: f.text({ default: '', merge: 'text' }),
  priority: f.integer({ default: 0, merge: 'max' }),
  price: f.decimal({ precision: 10, scale: 2, nullable: true, merge: 'min' }),
  due: f.date({ nullable: true, merge: 'min' }),
  tags: f.set({ default: [], merge: 'union' }),
  status: f.enum(['todo', 'doing', 'done'], { default: 'todo', merge: 'state' }),
  owner: f.string({ nullable: true, merge: 'serverWins' }),
  color: f.string({ nullable: true, merge: 'clientWins' }),
  secret: f.string({ nullable: true, merge: 'manual' }),
  score: f.integer({
    default: 0,
    merge: (base: unknown, server: unknown, client: unknown) => (server as number) + (client as number) - ((base as number | null) ?? 0),
  }),
}

/** A note with one field per policy. */
export const note = defineModel('note', { fields: noteFields })

/** Updates revive a deleted memo (the `updateRevives` policy). */
export const memo = defineModel('memo', { fields: { text: f.string({ default: '' }) }, onDeleted: 'updateRevives' })

/** Global records that history is not kept for, with free-form JSON. */
export const ping = defineModel('ping', { fields: { n: f.integer({ default: 0 }), meta: f.json({ nullable: true }) }, history: false })

export const syncSchema = defineSchema([note, memo, ping])

/**
 * The same note and memo in an organization (§8: they sync to its members), for tests with
 * accounts on: the real-client convergence fuzz.
 */
export const orgNote = defineModel('note', { fields: { ...noteFields, orgId: f.org() } })
export const orgMemo = defineModel('memo', { fields: { text: f.string({ default: '' }), orgId: f.org() }, onDeleted: 'updateRevives' })
export const orgSyncSchema = defineSchema([orgNote, orgMemo])
