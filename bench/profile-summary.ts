/**
 * Where the time goes: the top self-time functions of V8 CPU profiles, as written by
 * `npm run bench -- --cpu-prof <bench>` into bench/profiles/<bench>/ (git-ignored).
 * Each profile (one per process: the bench, its server child, its client children) is
 * summarised on its own; idle time is left out of the total.
 *
 *   node --import tsx bench/profile-summary.ts bench/profiles/fanout [top=12]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Self time per function (name and place), in ms, and the busy total. */
export function selfTimes(profile: Profile): { total: number; rows: { fn: string; ms: number }[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    if (!node) return
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') return
    const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + ms)
    total += ms
  })
  const rows = [...self.entries()].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms)
  return { total, rows }
}

function main(): void {
  const dir = process.argv[2] ?? 'bench/profiles'
  const top = Number(process.argv[3] ?? 12)
  const files = statSync(dir).isDirectory()
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(dir, f))
    : [dir]
  for (const file of files) {
    const { total, rows } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile)
    if (total < 50) continue
    console.log(`\n${file}: ${Math.round(total)} ms busy`)
    console.table(rows.slice(0, top).map((r) => ({ 'self ms': Math.round(r.ms), '%': ((r.ms / total) * 100).toFixed(1), function: r.fn })))
  }
}

if (process.argv[1]?.endsWith('profile-summary.ts')) main()
