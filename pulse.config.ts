/**
 * The configuration `pulse serve` (and `npm start`) finds in the repository's root: the tasks
 * example, with the two-window demo's model. Other examples: `--config examples/<name>/pulse.config.ts`.
 */
export { default } from './examples/tasks/pulse.config.ts'
