/**
 * Runs every benchmark in turn, each in its own process (so one's memory and sockets do not
 * colour the next): `npm run bench`, or `npm run bench -- write sync` for some of them.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ALL = ['write', 'sync', 'fanout', 'client']
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL
let failed = 0
for (const name of wanted) {
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
  if (!existsSync(file)) {
    console.error(`no benchmark named ${name} (have: ${ALL.join(', ')})`)
    failed += 1
    continue
  }
  console.log(`\n=== bench/${name}.ts ===`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' })
  if (run.status !== 0) failed += 1
}
process.exitCode = failed > 0 ? 1 : 0
