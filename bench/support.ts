/** Shared pieces of the benchmarks: timing, percentiles, printing, database choice. */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const nowMs = (): number => performance.now()

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

/** Formats a rate with thousands separators. */
export const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`

/** A fresh SQLite file path in a temporary directory. */
export function tempSqlite(label: string): string {
  return join(mkdtempSync(join(tmpdir(), `pulse-bench-${label}-`)), 'bench.db')
}

/** The PostgreSQL URL benchmarks use, when a server answers there. */
export async function benchPgUrl(): Promise<string | undefined> {
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.end()
    return url
  } catch {
    console.log(`(PostgreSQL at ${url} is not reachable: its figures are skipped)`)
    return undefined
  }
}

/** A PostgreSQL schema made for one benchmark run and dropped afterwards. */
export async function withPgSchema<T>(url: string, fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${process.pid}_${Math.floor(Math.random() * 1e6)}`
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(schema)
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
}

/** Prints a table of rows. */
export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`)
  console.table(rows)
}

// ---------------------------------------------------------------------------------------------
// The protocol between `bench/run.ts` and each benchmark (bench/README.md, "Protocol").
//
// A benchmark reports each figure as one JSON line appended to the file named by BENCH_OUT
// (absent: the figure is only printed). `run.ts` joins a figure that names a baseline
// (`baselineName`) with that baseline's figure from the same run, computes `ratio`
// (figure / baseline) and prints the table. BENCH_QUICK=1 asks for smaller sizes.
// ---------------------------------------------------------------------------------------------

/** Whether the run asked for quick sizes (`npm run bench -- --quick`). */
export const QUICK = process.env.BENCH_QUICK === '1'

/** The full size, or the quick one under `--quick`. */
export const sized = (full: number, quick: number): number => (QUICK ? quick : full)

/** One figure of a benchmark, as written to BENCH_OUT. */
export interface Figure {
  /** The path measured, as in the README table: "REST create, SQLite". */
  path: string
  figure: number
  /** `req/s`, `records/s`, `ms`, `KB`, `sockets`… */
  unit: string
  /** Whether a higher figure is better (throughput) or a lower one (latency, memory). */
  better: 'higher' | 'lower'
  /** The aim the issue sets, in `unit` (absent: none). */
  aim?: number
  /** The raw baseline measured in this run: its name, and its figure when the bench measured it itself. */
  baselineName?: string
  baseline?: number
  /** figure / baseline, when the baseline is known. */
  ratio?: number
  /** Anything that qualifies the figure (sizes, database). */
  note?: string
}

/** A raw baseline's figure: what the machine does with no Pulse in the way. */
export interface BaselineFigure {
  baseline: true
  name: string
  figure: number
  unit: string
  note?: string
}

function writeLine(line: object): void {
  const out = process.env.BENCH_OUT
  if (out) appendFileSync(out, `${JSON.stringify({ bench: benchName(), ...line })}\n`)
}

function benchName(): string {
  const main = process.argv[1] ?? ''
  return main.replace(/^.*\//, '').replace(/\.ts$/, '')
}

/** Reports a figure: printed at once, and written to BENCH_OUT for the table. */
export function report(figure: Figure): void {
  const withRatio =
    figure.baseline !== undefined && figure.ratio === undefined && figure.baseline !== 0
      ? { ...figure, ratio: figure.figure / figure.baseline }
      : figure
  console.log(
    `  figure: ${figure.path}: ${formatFigure(figure.figure)} ${figure.unit}` +
      (figure.baseline !== undefined ? ` (baseline ${figure.baselineName ?? ''} ${formatFigure(figure.baseline)})` : ''),
  )
  writeLine(withRatio)
}

/** Reports a raw baseline's figure. */
export function reportBaseline(name: string, figure: number, unit: string, note?: string): void {
  console.log(`  baseline: ${name}: ${formatFigure(figure)} ${unit}`)
  const line: BaselineFigure = { baseline: true, name, figure, unit, ...(note ? { note } : {}) }
  writeLine(line)
}

/** A number for a table: integers with separators, small ones with a few decimals. */
export function formatFigure(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Number.isInteger(n)) return n.toLocaleString('en-US')
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** How long the warm-up lasts: the first seconds after start are 25–45 % slower (JIT). */
export const WARM_UP_MS = sized(3000, 1500)

/**
 * Runs `fn` repeatedly, unmeasured, until `minMs` have passed (at least once), so the JIT has
 * compiled the paths measured next. Says so on the output.
 */
export async function warmUp(what: string, fn: () => unknown, minMs = WARM_UP_MS): Promise<void> {
  const t0 = nowMs()
  let rounds = 0
  do {
    await fn()
    rounds += 1
  } while (nowMs() - t0 < minMs)
  console.log(`  warm-up (not measured): ${what}, ${rounds} round${rounds === 1 ? '' : 's'} in ${Math.round(nowMs() - t0)} ms`)
}

/** Milliseconds since the epoch, sub-millisecond: comparable between processes on one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now()

/**
 * The command that runs a TypeScript file in a child Node with the soft file limit raised to
 * the hard one (`ulimit -n`: Node cannot raise it itself). Node options as this process's.
 */
export function nodeUnderShell(
  file: string,
  args: readonly string[] = [],
  execArgv: readonly string[] = process.execArgv,
): [string, string[]] {
  const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"'
  return ['sh', ['-c', script, 'sh', process.execPath, ...execArgv, file, ...args]]
}

/** The number of file descriptors this process may open (its soft limit). */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s+/)[3])
    return Number.isFinite(soft) ? soft : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** Descriptors this process has open now (Linux). */
export function openFiles(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return Number.NaN
  }
}

/**
 * The load generator of the REST figures and their bare-Fastify baseline (one and the same):
 * `concurrency` keep-alive connections, each posting one request at a time, in a process of its own (so the measuring process's CPU time is
 * the server's alone) until every body is answered with 201. The child times itself from the
 * moment it has its bodies, so its start-up is not counted. Returns the milliseconds it took.
 */
export function postLoad(url: string, headers: Record<string, string>, bodies: readonly string[], concurrency: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', POST_LOAD], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d: string) => {
    out += d
  })
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      const ms = Number(out.trim())
      if (code === 0 && Number.isFinite(ms)) resolve(ms)
      else reject(new Error(`the load generator failed (exit ${code})`))
    })
    child.stdin.end(JSON.stringify({ url, headers: { 'content-type': 'application/json', ...headers }, bodies, concurrency }))
  })
}

/**
 * The load generator's code: reads its work from stdin, prints the milliseconds the POSTs took.
 * Plain keep-alive HTTP/1.1 over `net` sockets, one request at a time on each (no pipelining),
 * responses read by Content-Length: a few microseconds of its own per request, where `fetch`
 * (undici) spent more than the bare route it measured (it capped that route near 1k req/s on
 * this 2-core machine, below Pulse's own route, so the ratio said nothing).
 */
const POST_LOAD = `
const net = require('node:net')
let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (d) => { input += d })
process.stdin.on('end', () => {
  const { url, headers, bodies, concurrency } = JSON.parse(input)
  const { hostname, port, pathname, host } = new URL(url)
  const head = 'POST ' + pathname + ' HTTP/1.1\\r\\nhost: ' + host + '\\r\\n' +
    Object.entries(headers).map(([k, v]) => k + ': ' + v + '\\r\\n').join('')
  const requests = bodies.map((b) => Buffer.from(head + 'content-length: ' + Buffer.byteLength(b) + '\\r\\n\\r\\n' + b))
  let next = 0
  function loop() {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port), noDelay: true })
      let buffered = Buffer.alloc(0)
      const send = () => {
        if (next >= requests.length) { socket.end(); return resolve() }
        socket.write(requests[next++])
      }
      socket.on('connect', send)
      socket.on('error', reject)
      socket.on('data', (chunk) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
        for (;;) {
          const end = buffered.indexOf('\\r\\n\\r\\n')
          if (end < 0) return
          const text = buffered.toString('latin1', 0, end)
          const length = /\\r\\ncontent-length: *(\\d+)/i.exec(text)
          if (!length) return reject(new Error('a response without Content-Length: ' + text.slice(0, 200)))
          const total = end + 4 + Number(length[1])
          if (buffered.length < total) return
          const status = text.slice(9, 12)
          if (status !== '201') return reject(new Error('POST answered ' + status + ': ' + buffered.toString('utf8', end + 4, total)))
          buffered = buffered.subarray(total)
          send()
        }
      })
    })
  }
  const t0 = performance.now()
  Promise.all(Array.from({ length: concurrency }, loop)).then(
    () => { process.stdout.write(String(performance.now() - t0)); process.exitCode = 0 },
    (e) => { console.error(String(e)); process.exitCode = 1 },
  )
})
`

/** The organization every benchmark task belongs to. */
export const BENCH_ORG = '0192f0b4-1c6a-7000-8000-00000000b0a1'

/** A task record's data as the write and REST figures and their baselines send it. */
export function taskData(i: number) {
  return {
    orgId: BENCH_ORG,
    title: `Task ${i}`,
    description: 'Something to do, described at some length.',
    priority: i % 6,
    tags: ['bench', `t${i % 10}`],
    dueDate: '2026-12-24',
  }
}

/** A task's row as the storage keeps it, in the raw baselines' column order (`completed` as the driver takes booleans). */
export function rawTaskRow(d: ReturnType<typeof taskData>, at: string, completed: 0 | false): unknown[] {
  return [
    randomUUID(),
    1,
    '{"server":1}',
    at,
    at,
    null,
    '{}',
    d.title,
    d.description,
    'todo',
    d.priority,
    JSON.stringify(d.tags),
    d.dueDate,
    completed,
    null,
    null,
    d.orgId,
  ]
}

/**
 * GETs `/api/v1/healthz` every `everyMs` until `stop` resolves (or `forMs` has passed); returns
 * each answer's latency in ms.
 */
export async function probeHealth(url: string, stop: number | Promise<unknown>, everyMs = 25): Promise<number[]> {
  const samples: number[] = []
  let stopped = false
  const end = typeof stop === 'number' ? nowMs() + stop : Number.POSITIVE_INFINITY
  if (typeof stop !== 'number')
    void stop.finally(() => {
      stopped = true
    })
  while (!stopped && nowMs() < end) {
    const t0 = nowMs()
    const res = await fetch(`${url}/api/v1/healthz`)
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`healthz answered ${res.status}`)
    samples.push(nowMs() - t0)
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return samples
}
