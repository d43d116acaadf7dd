/** Running the real `pulse` command in a child process. */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = fileURLToPath(new URL('../../packages/cli/bin/pulse.js', import.meta.url))

/** Runs `pulse <args>` (in `cwd`, default the repository) to completion; resolves with its exit code and output. */
export function runPulse(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  cwd = ROOT,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`pulse ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Starts `pulse serve` (in `cwd`, default the repository) and resolves once its health probe answers 200. */
export async function startPulse(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), ...args], { cwd, env: { ...process.env, ...env } })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pulse serve exited with ${child.exitCode}:\n${output}`)
    try {
      const res = await fetch(`${url}/api/v1/healthz`)
      if (res.status === 200) return { child, url, output: () => output }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`pulse serve did not become healthy:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Stops a child and waits for it to exit. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    child.once('exit', (code) => resolve(code))
    child.kill(signal)
  })
}

/**
 * A fresh app folder outside the repository holding `files`, whose node_modules is the
 * repository's (so `@pulse/*` resolve to the workspace packages' builds, as from an install).
 */
export function appDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-app-'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}
