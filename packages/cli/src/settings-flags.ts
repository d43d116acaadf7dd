/**
 * The server settings (SETTINGS in @pulse/server) as command-line flags: one option per row of
 * the table, its help saying the environment variable and the default; and back from the parsed
 * command to the flags a person actually gave.
 */
import { flagsOf, SETTINGS, type SettingName, type SettingsInput } from '@pulse/server'
import { type Command, Option } from 'commander'

const NAMES = Object.keys(SETTINGS) as SettingName[]

function shownDefault(name: SettingName): string {
  const value: unknown = SETTINGS[name].default
  if (value === undefined) return 'unset'
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',')
  return String(value)
}

/** Adds a flag for every setting that has one, in the table's order. */
export function addSettingFlags(command: Command, names: readonly SettingName[] = NAMES): Command {
  for (const name of names) {
    const spec = SETTINGS[name]
    const [flag, negated] = flagsOf(name)
    if (!flag) continue
    const env = 'env' in spec ? `env ${spec.env}; ` : ''
    command.addOption(new Option(flag, `${spec.description} (${env}default ${shownDefault(name)})`))
    if (negated) command.addOption(new Option(negated, `the opposite of ${flag}`))
  }
  return command
}

/** The settings given as flags on the command line (not defaults), by setting name. */
export function givenFlags(command: Command, names: readonly SettingName[] = NAMES): NonNullable<SettingsInput['flags']> {
  const given: Partial<Record<SettingName, string | boolean>> = {}
  const options = new Map(command.options.map((o) => [o.long, o]))
  for (const name of names) {
    const [flag] = flagsOf(name)
    const long = flag?.split(/[ ,]+/).find((w) => w.startsWith('--'))
    const option = long ? options.get(long) : undefined
    if (!option) continue
    const key = option.attributeName()
    if (command.getOptionValueSource(key) !== 'cli') continue
    const value: unknown = command.getOptionValue(key)
    if (typeof value === 'string' || typeof value === 'boolean') given[name] = value
  }
  return given
}
