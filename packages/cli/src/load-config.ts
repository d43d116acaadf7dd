/**
 * Finding and loading `pulse.config.ts` (or .mts/.js/.mjs): the one named by `--config`, else
 * the one in the working directory; a clear message for every way it can fail.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, extname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Schema } from '@pulse/core'
import { schemaOf } from '@pulse/server'

/** The names `pulse` looks for in the working directory, in this order. */
export const CONFIG_NAMES = ['pulse.config.ts', 'pulse.config.mts', 'pulse.config.js', 'pulse.config.mjs'] as const

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts'])

/** Thrown for a configuration that cannot be used; its message is for the person at the terminal. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** A loaded configuration. */
export interface LoadedConfig {
  readonly schema: Schema
  /** The config's `server` section, unchecked (resolveSettings checks it). */
  readonly server: unknown
  /** Absolute path of the file. */
  readonly file: string
  /** The path as shown to the person: relative to the working directory when inside it. */
  readonly shown: string
}

/** The config file to use: `path` when given (it must exist), else the first of CONFIG_NAMES in `cwd`, else undefined. */
export function findConfig(path: string | undefined, cwd = process.cwd()): string | undefined {
  if (path !== undefined) {
    const file = resolve(cwd, path)
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`)
    return file
  }
  return CONFIG_NAMES.map((name) => join(cwd, name)).find((file) => existsSync(file))
}

/** How a file is shown: `./pulse.config.ts` inside the working directory, absolute outside it. */
export function showPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file)
  return rel.startsWith('..') || rel === file ? file : `./${rel}`
}

/**
 * A TypeScript config as one ES module, with the files it imports from the app bundled in and
 * its packages left to Node. It is compiled as an ES module whether or not the app's
 * package.json says `"type": "module"`, and only it: Pulse itself runs as built JavaScript.
 */
async function compileConfig(file: string): Promise<string> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [file],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  })
  const output = result.outputFiles[0]
  if (!output) throw new Error('esbuild produced no output')
  return output.text
}

/**
 * Imports a config file. A TypeScript one is compiled (compileConfig) into a temporary `.mjs`
 * beside it, so that its packages resolve from the app's node_modules, and removed once loaded.
 */
async function importConfig(file: string): Promise<unknown> {
  let url = pathToFileURL(file).href
  let temporary: string | undefined
  if (TYPESCRIPT.has(extname(file))) {
    const code = await compileConfig(file)
    temporary = join(dirname(file), `.${basename(file)}.${process.pid}-${Date.now()}.mjs`)
    try {
      writeFileSync(temporary, code, { flag: 'wx' })
    } catch (e) {
      throw new Error(
        `cannot write the compiled config beside it (${e instanceof Error ? e.message : String(e)}); ` +
          'on a read-only file system, ship it as pulse.config.mjs',
      )
    }
    url = pathToFileURL(temporary).href
  }
  try {
    return ((await import(url)) as { default?: unknown }).default
  } finally {
    if (temporary) rmSync(temporary, { force: true })
  }
}

/** Loads the config `path` (or the one in `cwd`), builds its schema. Throws ConfigError. */
export async function loadConfig(path: string | undefined, cwd = process.cwd()): Promise<LoadedConfig> {
  const file = findConfig(path, cwd)
  if (!file) {
    throw new ConfigError(`no ${CONFIG_NAMES[0]} in ${cwd}: write one with \`npx pulse init\`, or name one with --config <file>`)
  }
  const shown = showPath(file, cwd)
  let config: unknown
  try {
    config = await importConfig(file)
  } catch (e) {
    throw new ConfigError(`config ${shown} failed to load: ${e instanceof Error ? e.message : String(e)}`)
  }
  try {
    return { schema: schemaOf(config), server: (config as { server?: unknown }).server, file, shown }
  } catch (e) {
    throw new ConfigError(`config ${shown} is not usable: ${e instanceof Error ? e.message : String(e)}`)
  }
}
