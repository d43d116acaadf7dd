/** Models for protocol tests: one field per merge policy (PROTOCOL.md §5). */
import { defineModel, defineSchema, f } from '@pulse/core'

/** A note with one field per policy. `score` merges as an additive counter (a custom function). */
export const note = defineModel('note', {
  fields: {
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
      merge: (base, server, client) => (server as number) + (client as number) - ((base as number | null) ?? 0),
    }),
  },
})

/** Updates revive a deleted memo (the `updateRevives` policy). */
export const memo = defineModel('memo', { fields: { text: f.string({ default: '' }) }, onDeleted: 'updateRevives' })

/** Global records that history is not kept for, with free-form JSON. */
export const ping = defineModel('ping', { fields: { n: f.integer({ default: 0 }), meta: f.json({ nullable: true }) }, history: false })

export const syncSchema = defineSchema([note, memo, ping])
