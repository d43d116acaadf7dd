/** Loading `pulse.config.ts` (or .js/.mjs): a clear message for every way it can fail. */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Schema } from '@pulse/core'
import { schemaOf } from '@pulse/server'

/** The tasks example, served when no `--config` is given. */
export const DEFAULT_CONFIG = new URL('../../../examples/tasks/pulse.config.ts', import.meta.url)

/** Thrown for a configuration that cannot be used; its message is for the person at the terminal. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Imports a configuration file and builds its schema. */
export async function loadConfig(path: string | undefined): Promise<{ schema: Schema; source: string }> {
  const url = path ? pathToFileURL(resolve(path)) : DEFAULT_CONFIG
  const shown = path ?? 'examples/tasks/pulse.config.ts'
  if (path && !existsSync(url)) throw new ConfigError(`config file not found: ${resolve(path)}`)
  let loaded: unknown
  try {
    loaded = await import(url.href)
  } catch (e) {
    throw new ConfigError(`config ${shown} failed to load: ${e instanceof Error ? e.message : String(e)}`)
  }
  try {
    return { schema: schemaOf((loaded as { default?: unknown }).default), source: shown }
  } catch (e) {
    throw new ConfigError(`config ${shown} is not usable: ${e instanceof Error ? e.message : String(e)}`)
  }
}
