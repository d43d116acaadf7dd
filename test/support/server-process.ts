/**
 * A `pulse serve` child process that a test can kill (SIGKILL: no shutdown hooks, no flush)
 * and start again on the same port and database, for crash tests.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ROOT } from './cli.ts'

const BIN = fileURLToPath(new URL('../../packages/cli/bin/pulse.js', import.meta.url))
const HEALTHY_WITHIN_MS = 60_000

/** A server process that can be crashed and restarted. */
export interface ServerProcess {
  readonly url: string
  /** Kills the process with SIGKILL and waits until it is gone. */
  kill(): Promise<void>
  /** Starts it again with the same arguments and waits for `GET /api/v1/healthz` to answer 200. */
  start(): Promise<void>
  /** How many times it was started. */
  readonly starts: number
  /** The output of the current process, for failure messages. */
  output(): string
  /** The id of the current process (its memory can be read in /proc). */
  readonly pid: number | undefined
}

/** Prepares `pulse serve --port <port> <args>` (with `env` added); call `start()` to run it. */
export function serverProcess(port: number, args: readonly string[], env: Record<string, string>): ServerProcess {
  let child: ChildProcess | undefined
  let output = ''
  let starts = 0
  const url = `http://127.0.0.1:${port}`

  async function waitHealthy(proc: ChildProcess): Promise<void> {
    const deadline = Date.now() + HEALTHY_WITHIN_MS
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`pulse serve exited (${proc.exitCode ?? proc.signalCode}):\n${output}`)
      try {
        const res = await fetch(`${url}/api/v1/healthz`, { signal: AbortSignal.timeout(2_000) })
        await res.arrayBuffer()
        if (res.status === 200) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`pulse serve did not become healthy in ${HEALTHY_WITHIN_MS} ms:\n${output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  return {
    url,
    get starts() {
      return starts
    },
    output: () => output,
    get pid() {
      return child?.pid
    },
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('the server is still running')
      output = ''
      starts += 1
      const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), ...args], { cwd: ROOT, env: { ...process.env, ...env } })
      proc.stdout?.on('data', (d) => {
        output += d
      })
      proc.stderr?.on('data', (d) => {
        output += d
      })
      child = proc
      await waitHealthy(proc)
    },
    kill() {
      const proc = child
      return new Promise<void>((resolve) => {
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill('SIGKILL')
      })
    },
  }
}
