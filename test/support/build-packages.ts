/**
 * Vitest global setup: brings every package's dist/ up to date (`tsc -b`, skipped when nothing
 * changed), since tests that start `pulse` as a child process run the built JavaScript, not the
 * sources the in-process tests use.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))
  const result = spawnSync(process.execPath, [script, '--packages'], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`building the packages failed:\n${result.stdout}${result.stderr}`)
}
