/**
 * Runs the benchmarks, each in its own process (so one's memory, sockets and JIT state do not
 * colour the next), the raw baselines first in a process of their own, and prints one table:
 * each figure beside its raw baseline from the same run, and the ratio between them (the
 * ratio is what carries across machines; bench/README.md says how to read it).
 *
 *   npm run bench                               every benchmark at full size
 *   npm run bench -- --quick                    smaller sizes (the whole run in under 10 minutes)
 *   npm run bench -- --json out.json            also write every figure to out.json
 *   npm run bench -- write sync                 some of them
 *   npm run bench -- sockets:2000               one, with its own arguments (comma-separated)
 *   npm run bench -- --cpu-prof fanout          CPU profiles into bench/profiles/ (git-ignored)
 *
 * Protocol: each benchmark appends JSON lines (bench/support.ts `report`, `reportBaseline`) to
 * the file named by BENCH_OUT; BENCH_QUICK=1 asks it for quick sizes.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BaselineFigure, Figure } from './support.ts'
import { formatFigure, nowMs } from './support.ts'

interface BenchSpec {
  /** Arguments at full size and under --quick (each bench's own argv). */
  full: string[]
  quick: string[]
  /** The raw baselines (bench/baselines.ts) its figures are compared with. */
  baselines: string[]
}

/** Every benchmark `npm run bench` runs, in order. */
export const BENCHES: Record<string, BenchSpec> = {
  write: { full: ['50000'], quick: ['10000'], baselines: ['fastify-json-route'] },
  sync: {
    full: ['20000', '100000'],
    quick: ['4000', '20000'],
    baselines: ['sqlite-insert', 'pg-insert', 'sqlite-indexed-read', 'pg-indexed-read'],
  },
  fanout: { full: ['1000', '100'], quick: ['1000', '40'], baselines: ['ws-broadcast', 'ws-relay'] },
  client: { full: ['10000', '2000'], quick: ['2000', '300'], baselines: ['ws-relay-2'] },
  sockets: { full: ['20000'], quick: ['3000'], baselines: [] },
  'reconnect-storm': { full: ['1000', '10000'], quick: ['200', '2000'], baselines: ['sqlite-indexed-read'] },
  cluster: { full: ['20000', '200'], quick: ['1000', '50'], baselines: [] },
}

/** A figure with its baseline joined in. */
export interface Row extends Figure {
  bench: string
  aimMet?: boolean
}

/** What `--json` writes. */
export interface BenchReport {
  startedAt: string
  quick: boolean
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string }
  /** The 1-minute load average before and after the run: figures taken on a busy machine are noisy. */
  load: { before: number; after: number }
  /** Wall time of each benchmark process, and whether it exited cleanly. */
  runs: { bench: string; args: string[]; ms: number; ok: boolean }[]
  baselines: (BaselineFigure & { bench: string })[]
  figures: Row[]
}

function parseArgs(argv: string[]) {
  const names: { name: string; args?: string[] }[] = []
  let json: string | undefined
  let quick = false
  let cpuProf = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--json') {
      json = argv[++i]
      if (!json) throw new Error('--json needs a file name')
    } else if (a.startsWith('--json=')) json = a.slice('--json='.length)
    else if (a === '--quick') quick = true
    else if (a === '--cpu-prof') cpuProf = true
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`)
    else {
      const [name, args] = a.split(':') as [string, string | undefined]
      names.push(args !== undefined ? { name, args: args.split(',').filter(Boolean) } : { name })
    }
  }
  return { names, json, quick, cpuProf }
}

/** Joins figures with their baselines and checks the aims. */
export function joinFigures(lines: object[]): { baselines: (BaselineFigure & { bench: string })[]; figures: Row[] } {
  const baselines = lines.filter((l): l is BaselineFigure & { bench: string } => (l as BaselineFigure).baseline === true)
  const byName = new Map(baselines.map((b) => [b.name, b]))
  const figures = lines
    .filter((l): l is Row => (l as BaselineFigure).baseline !== true)
    .map((f) => {
      const row: Row = { ...f }
      if (row.baseline === undefined && row.baselineName !== undefined) {
        const b = byName.get(row.baselineName)
        if (b) row.baseline = b.figure
      }
      if (row.ratio === undefined && row.baseline !== undefined && row.baseline !== 0) row.ratio = row.figure / row.baseline
      if (row.aim !== undefined) row.aimMet = row.better === 'higher' ? row.figure >= row.aim : row.figure <= row.aim
      return row
    })
  return { baselines, figures }
}

function printRows(figures: Row[]): void {
  const table = figures.map((f) => ({
    path: f.path,
    figure: `${formatFigure(f.figure)} ${f.unit}`,
    aim: f.aim === undefined ? '' : `${f.better === 'higher' ? '≥' : '≤'} ${formatFigure(f.aim)} ${f.aimMet ? '✓' : '✗'}`,
    baseline: f.baseline === undefined ? '' : `${formatFigure(f.baseline)} (${f.baselineName ?? 'inline'})`,
    ratio: f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
  }))
  console.log('\nAll figures (ratio = figure / baseline from this run; see bench/README.md)')
  console.table(table)
}

async function main(): Promise<void> {
  const { names, json, quick, cpuProf } = parseArgs(process.argv.slice(2))
  const chosen: { name: string; args?: string[] }[] = names.length > 0 ? names : Object.keys(BENCHES).map((name) => ({ name }))
  for (const { name } of chosen)
    if (!BENCHES[name]) throw new Error(`no benchmark named ${name} (have: ${Object.keys(BENCHES).join(', ')})`)
  const dir = mkdtempSync(join(tmpdir(), 'pulse-bench-run-'))
  const out = join(dir, 'figures.jsonl')
  writeFileSync(out, '')
  const profDir = fileURLToPath(new URL('./profiles/', import.meta.url))
  if (cpuProf) mkdirSync(profDir, { recursive: true })
  const env = { ...process.env, BENCH_OUT: out, BENCH_QUICK: quick ? '1' : '0' }
  // Pulse is measured as `pulse serve` runs it: from its built packages (dist/, built now when
  // stale). Its sources through tsx are not the same program: esbuild's keepNames gives every
  // function a `name` property of its own, which cost 6.5 KB per idle socket (heap snapshots of
  // 2,000 sockets: 21.6 KB source, 15.0 KB built) and CPU on every call of a closure.
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url)), '--packages'], {
    stdio: 'inherit',
  })
  if (build.status !== 0) throw new Error('building the packages failed')
  const execArgv = ['--import', 'tsx']
  const runs: BenchReport['runs'] = []
  const started = new Date().toISOString()
  const loadBefore = loadavg()[0] as number

  const run = (name: string, args: string[]) => {
    const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
    if (!existsSync(file)) throw new Error(`bench/${name}.ts is missing`)
    console.log(`\n=== bench/${name}.ts ${args.join(' ')} ===`)
    // One directory per bench: its server and client children (forked with these options) profile too.
    const prof = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : []
    const t0 = nowMs()
    const r = spawnSync(process.execPath, [...execArgv, ...prof, file, ...args], { stdio: 'inherit', env })
    const ok = r.status === 0
    runs.push({ bench: name, args, ms: Math.round(nowMs() - t0), ok })
    if (!ok) console.error(`bench/${name}.ts failed (exit ${r.status ?? r.signal})`)
  }

  const needed = [...new Set(chosen.flatMap(({ name }) => BENCHES[name]?.baselines ?? []))]
  if (needed.length > 0) run('baselines', needed)
  for (const { name, args } of chosen) {
    const spec = BENCHES[name] as BenchSpec
    run(name, args ?? (quick ? spec.quick : spec.full))
  }

  const lines = readFileSync(out, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as object)
  rmSync(dir, { recursive: true, force: true })
  const { baselines, figures } = joinFigures(lines)
  printRows(figures)
  console.log(`\n${runs.map((r) => `${r.bench} ${(r.ms / 1000).toFixed(0)} s${r.ok ? '' : ' FAILED'}`).join(', ')}`)
  console.log(
    `load average (1 min) ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after, on ${cpus().length} cores`,
  )
  if (json) {
    const reportOut: BenchReport = {
      startedAt: started,
      quick,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      load: { before: loadBefore, after: loadavg()[0] as number },
      runs,
      baselines,
      figures,
    }
    writeFileSync(json, `${JSON.stringify(reportOut, null, 2)}\n`)
    console.log(`figures written to ${json}`)
  }
  process.exitCode = runs.every((r) => r.ok) ? 0 : 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
