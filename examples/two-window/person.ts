/**
 * The model of seed 001's two-window demo: a person with a first and a last name. Its own file
 * (core only), so the browser pages import the same definition the server serves.
 */
import { defineModel, f } from '@pulse/core'

/** A person: seed 001's User, with its two names. Global: every signed-in user syncs it (§8). */
export const person = defineModel('person', {
  fields: {
    firstName: f.string({ max: 100, default: '' }),
    lastName: f.string({ max: 100, default: '' }),
  },
})
