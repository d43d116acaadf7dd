/**
 * The task manager (seed 002) and seed 000's Item: the default example of `pulse serve`.
 * Projects, tasks and comments belong to an organization and sync to its members; items are
 * global (every signed-in user reads them; in production only admins write them). Merge policies follow seed 002: text merge for descriptions,
 * higher priority wins, tags are a union, status moves forward only, the earlier due date wins.
 */
import { defineModel, f } from '@pulse/core'
import { defineConfig } from '@pulse/server'
import { adminsOrDevelopment, person } from '../two-window/person.ts'

/** A project groups tasks; it belongs to an organization. */
export const project = defineModel('project', {
  fields: {
    name: f.string({ max: 200 }),
    description: f.text({ default: '', merge: 'text' }),
    archived: f.boolean({ default: false }),
    orgId: f.org(),
  },
})

/** A task. */
export const task = defineModel('task', {
  fields: {
    title: f.string({ max: 200 }),
    description: f.text({ default: '', merge: { policy: 'text', fallback: 'lww' } }),
    status: f.enum(['todo', 'in_progress', 'done'], { default: 'todo', merge: 'state' }),
    priority: f.integer({ min: 0, max: 5, default: 0, merge: 'max' }),
    tags: f.set({ default: [], merge: 'union' }),
    dueDate: f.date({ nullable: true, merge: 'min' }),
    completed: f.boolean({ default: false }),
    assigneeId: f.string({ max: 64, nullable: true, description: 'the assigned user' }),
    projectId: f.ref('project', { nullable: true }),
    orgId: f.org(),
  },
})

/** A comment on a task; `parentId` threads replies. */
export const comment = defineModel('comment', {
  fields: {
    taskId: f.ref('task'),
    parentId: f.ref('comment', { nullable: true }),
    body: f.text({ merge: 'text' }),
    authorId: f.string({ max: 64, nullable: true }),
    orgId: f.org(),
  },
})

/**
 * Seed 000's Item: a price is an exact decimal(10,2). Global, so written only by admins in
 * production (any account may read it; see `adminsOrDevelopment`).
 */
export const item = defineModel('item', {
  fields: {
    name: f.string({ max: 255 }),
    description: f.text({ default: '' }),
    price: f.decimal({ precision: 10, scale: 2 }),
  },
  rules: { write: adminsOrDevelopment },
})

// `person` is the two-window demo's model (seed 001), served too so `npm start` runs the demo.
export default defineConfig({ name: 'tasks', models: [project, task, comment, item, person] })
