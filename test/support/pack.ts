/**
 * Installing Pulse as a user would, for test/pack.test.ts: `npm pack` every package, and a fresh
 * project outside the repository that depends on the tarballs, installed from them and npm's
 * local cache.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './cli.ts'

/** The published packages, by folder under packages/. */
export const PACKAGES = ['core', 'server', 'client', 'react', 'cli'] as const

/** What a finished command printed. */
export interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * The environment for npm and the installed app: this one without what `npm test` adds about the
 * repository (its package, its lifecycle, its prefix), so nothing points back into it.
 */
export function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(key) || key === 'npm_config_local_prefix' || key === 'INIT_CWD') continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs a command to completion (killed after `timeoutMs`). */
export function run(command: string, args: readonly string[], cwd: string, timeoutMs: number, env = outsideEnv()): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Throws with the command's output unless it exited 0. */
export function expectSuccess(what: string, ran: Ran): Ran {
  if (ran.code !== 0) throw new Error(`${what} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`)
  return ran
}

/** Packs every package into `dest`; returns each package's tarball path by folder name. */
export async function packAll(dest: string): Promise<Record<(typeof PACKAGES)[number], string>> {
  const args = ['pack', '--json', '--pack-destination', dest, ...PACKAGES.flatMap((p) => ['--workspace', `packages/${p}`])]
  const ran = expectSuccess('npm pack', await run('npm', args, ROOT, 120_000))
  const packed = JSON.parse(ran.stdout) as { name: string; filename: string }[]
  const tarballs = Object.fromEntries(packed.map((p) => [p.name.replace('@pulse/', ''), join(dest, p.filename)]))
  for (const p of PACKAGES) if (!tarballs[p]) throw new Error(`npm pack made no tarball for @pulse/${p}:\n${ran.stdout}`)
  return tarballs as Record<(typeof PACKAGES)[number], string>
}

/** The version of a package installed in the repository (to install the same one, from the cache). */
export function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

/** Writes `package.json` of the app, with or without `"type": "module"`. */
export function writeAppPackage(dir: string, tarballs: Record<string, string>, type: 'module' | 'commonjs'): void {
  const pkg = {
    name: 'pulse-pack-test-app',
    private: true,
    ...(type === 'module' ? { type } : {}),
    dependencies: {
      ...Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [`@pulse/${name}`, `file:${file}`])),
      react: repoVersion('react'),
    },
    devDependencies: {
      typescript: repoVersion('typescript'),
      '@types/node': repoVersion('@types/node'),
      '@types/react': repoVersion('@types/react'),
    },
    // npm 11 asks apps to approve install scripts: better-sqlite3 compiles its native module.
    allowScripts: { 'better-sqlite3': true, esbuild: true },
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
}

/** Resolves once `url/api/v1/healthz` answers 200; throws if the process exits first or after 60 s. */
export async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}):\n${output()}`)
    try {
      const res = await fetch(`${url}/api/v1/healthz`, { signal: AbortSignal.timeout(2_000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not become healthy:\n${output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
