/**
 * Seed 001's two-window demo: one `person` record, its first name edited in one window and its
 * last name in the other (apps/web: `/demo/window1` and `/demo/window2`). The two windows edit
 * different fields, so their edits never conflict (§5: uncontested fields always apply), even
 * when both were made offline.
 *
 *   npx pulse serve --config examples/two-window/pulse.config.ts
 */
import { defineConfig } from '@pulse/server'
import { person } from './person.ts'

export { person }

export default defineConfig({ name: 'two-window', models: [person] })
