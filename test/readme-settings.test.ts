/**
 * The README's table of settings is the settings table (SETTINGS in @pulse/server), row for row:
 * a setting added to the code without its README row, or a default changed in one place only,
 * fails here with the table as it should read.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { flagsOf, SETTINGS, type SettingName } from '@pulse/server'
import { describe, expect, it } from 'vitest'
import { ROOT } from './support/cli.ts'

const START = '<!-- settings table: generated from SETTINGS (test/readme-settings.test.ts) -->'
const END = '<!-- end of settings table -->'

function shownDefault(value: unknown): string {
  if (value === undefined) return 'unset'
  if (Array.isArray(value)) return value.length === 0 ? 'none' : `\`${value.join(',')}\``
  return `\`${String(value)}\``
}

/** The table as the README shows it. */
function settingsTable(): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const spec = SETTINGS[name]
    const env = 'env' in spec ? `\`${spec.env}\`` : ''
    const flags = flagsOf(name)
      .map((f) => `\`${f.replace(/^-\w, /, '')}\``)
      .join(' ')
    return `| \`${name}\` | ${env} | ${flags} | ${shownDefault(spec.default)} | ${spec.description.replaceAll('|', '\\|')} |`
  })
  return ['| setting | environment | flag | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}

describe('README settings table', () => {
  it('lists every setting with its environment variable, flag and default', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const start = readme.indexOf(START)
    const end = readme.indexOf(END)
    expect(start, `README.md has no "${START}" line`).toBeGreaterThan(-1)
    const table = readme.slice(start + START.length, end).trim()
    expect(table, `README.md's settings table should read:\n\n${settingsTable()}\n`).toBe(settingsTable())
  })
})
