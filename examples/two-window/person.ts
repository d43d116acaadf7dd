/**
 * The model of seed 001's two-window demo: a person with a first and a last name. Its own file
 * (core only), so the browser pages import the same definition the server serves.
 */
import { type AccessRule, defineModel, f } from '@pulse/core'

/** The environment, where there is one (the server); the browser pages have none. */
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env

/**
 * The write rule of the examples' global models: admins write them always; other users only
 * outside production (`NODE_ENV` not `production`), where the demo pages sign up a `demo` user
 * that edits them. In production a global record is shared by every account, so no sign-up
 * may change it (issue 8): admins edit them, everyone reads them.
 */
export const adminsOrDevelopment: AccessRule = (_record, caller) => caller.admin || env?.NODE_ENV !== 'production'

/** A person: seed 001's User, with its two names. Global: every signed-in user syncs it (§8). */
export const person = defineModel('person', {
  fields: {
    firstName: f.string({ max: 100, default: '' }),
    lastName: f.string({ max: 100, default: '' }),
  },
  rules: { write: adminsOrDevelopment },
})
