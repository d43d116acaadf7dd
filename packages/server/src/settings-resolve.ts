/**
 * Resolving the server settings (settings.ts) at start-up: each one from its flag, else its
 * environment variable, else `server` in `pulse.config.ts`, else its default; every bad value
 * is reported, all at once, before anything starts.
 */
import { SETTINGS, type SettingName, type SettingSpec, type SettingValue } from './settings.ts'
import { SettingValueError } from './settings-types.ts'
import type { StartOptions } from './start.ts'

/** Where a setting's value came from. */
export type SettingSource = 'default' | 'config' | 'env' | 'flag'

/** Every setting's value (undefined: unset) and where it came from. */
export interface ResolvedSettings {
  readonly values: { readonly [N in SettingName]: SettingValue<N> | undefined }
  readonly sources: { readonly [N in SettingName]: SettingSource }
}

/** Thrown for settings that cannot be used: one line per problem, naming the setting and where it was set. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError'
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(`bad settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.problems = problems
  }
}

/** What the settings are resolved from. */
export interface SettingsInput {
  /** The `server` section of `pulse.config.ts` (checked here: it comes from a user's file). */
  config?: unknown
  /** Environment variables (`process.env`); an empty variable counts as unset. */
  env?: Readonly<Record<string, string | undefined>>
  /** Values given as flags, by setting name: text, or a boolean for a boolean's flag. */
  flags?: Partial<Readonly<Record<SettingName, string | boolean>>>
}

const NAMES = Object.keys(SETTINGS) as SettingName[]

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Flattens the config's `server` section into dotted names, reporting keys that name no setting
 * (with the settings that do exist under that prefix, to catch typos).
 */
function flattenConfig(section: unknown, problems: string[]): Map<string, unknown> {
  const found = new Map<string, unknown>()
  const walk = (value: unknown, prefix: string) => {
    if (!isPlainObject(value)) {
      problems.push(`server${prefix ? `.${prefix}` : ''} in the config: expected an object of settings`)
      return
    }
    for (const [key, inner] of Object.entries(value)) {
      const name = prefix ? `${prefix}.${key}` : key
      if (inner === undefined) continue
      if ((NAMES as string[]).includes(name)) found.set(name, inner)
      else if (NAMES.some((n) => n.startsWith(`${name}.`))) walk(inner, name)
      else {
        const siblings = NAMES.filter((n) => n.startsWith(prefix ? `${prefix}.` : '')).map((n) => n.slice(prefix ? prefix.length + 1 : 0))
        const known = [...new Set(siblings.map((n) => n.split('.')[0]))].join(', ')
        problems.push(`server.${name} in the config: no such setting (known${prefix ? ` under server.${prefix}` : ''}: ${known})`)
      }
    }
  }
  if (section !== undefined) walk(section, '')
  return found
}

/** Where one setting's value comes from, and how to read it from there. */
function sourceOf(name: SettingName, input: SettingsInput, fromConfig: Map<string, unknown>): [SettingSource, string, () => unknown] {
  const spec: SettingSpec<unknown> = SETTINGS[name]
  const flag = input.flags?.[name]
  if (flag !== undefined) {
    const long = spec.flag?.split(/[ ,]+/).find((w) => w.startsWith('--'))
    return ['flag', `flag ${long}`, () => (typeof flag === 'boolean' ? spec.type.fromValue(flag) : spec.type.fromText(flag))]
  }
  const env = spec.env ? input.env?.[spec.env] : undefined
  if (env !== undefined && env !== '') return ['env', `environment ${spec.env}`, () => spec.type.fromText(env)]
  if (fromConfig.has(name)) return ['config', 'the config', () => spec.type.fromValue(fromConfig.get(name))]
  return ['default', 'default', () => spec.default]
}

/** Resolves every setting: flag, else environment, else config, else default. Throws SettingsError. */
export function resolveSettings(input: SettingsInput = {}): ResolvedSettings {
  const problems: string[] = []
  const fromConfig = flattenConfig(input.config, problems)
  const values: Record<string, unknown> = {}
  const sources: Record<string, SettingSource> = {}
  for (const name of NAMES) {
    const [source, where, read] = sourceOf(name, input, fromConfig)
    try {
      values[name] = read()
      sources[name] = source
    } catch (e) {
      if (!(e instanceof SettingValueError)) throw e
      const spec: SettingSpec<unknown> = SETTINGS[name]
      problems.push(`${name} (${where}): expected ${spec.type.accepts}, got ${spec.secret ? 'something else (not shown)' : e.message}`)
    }
  }
  if (problems.length > 0) throw new SettingsError(problems)
  // Every name got a value of its own type (or a problem was thrown above).
  return { values, sources } as unknown as ResolvedSettings
}

/** The settings as StartOptions (all but `schema`): each value at its path, unset ones left out. */
export function toStartOptions(settings: ResolvedSettings): Omit<StartOptions, 'schema'> {
  const options: Record<string, unknown> = {}
  for (const name of NAMES) {
    const value = settings.values[name]
    if (value === undefined) continue
    const path = name.split('.')
    let at = options
    for (const key of path.slice(0, -1)) {
      at[key] ??= {}
      at = at[key] as Record<string, unknown>
    }
    at[path.at(-1) as string] = value
  }
  // The table's type check proves each value fits its field; port and database always have defaults.
  return options as unknown as Omit<StartOptions, 'schema'>
}

/** The flag that sets a setting, and its `--no-` form for a boolean (commander syntax). */
export function flagsOf(name: SettingName): string[] {
  const flag: string | undefined = SETTINGS[name].flag
  if (!flag) return []
  return flag.includes('<') ? [flag] : [flag, flag.replace('--', '--no-')]
}
