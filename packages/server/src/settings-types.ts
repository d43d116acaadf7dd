/**
 * The kinds of value a server setting holds (settings.ts): each checks a value written in
 * `pulse.config.ts` and parses the text of an environment variable or a command-line flag, and
 * says in a few words what it accepts, for error messages and the README's table.
 */

/** Thrown by a setting type for a value it does not accept; the message shows the value. */
export class SettingValueError extends Error {
  override readonly name = 'SettingValueError'
}

/** How one kind of setting value is checked and parsed. */
export interface SettingType<T> {
  /** What it accepts, e.g. "a whole number from 1 to 65535". */
  readonly accepts: string
  /** Checks a value from `pulse.config.ts`. Throws SettingValueError. */
  fromValue(value: unknown): T
  /** Parses the text of an environment variable or a flag. Throws SettingValueError. */
  fromText(text: string): T
}

/** The value type a SettingType produces. */
export type ValueOf<S> = S extends SettingType<infer T> ? T : never

function refuse(got: unknown): never {
  const shown =
    typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'a list' : typeof got === 'object' ? 'an object' : String(got)
  throw new SettingValueError(shown)
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): SettingType<number> {
  const accepts = `a whole number from ${min} to ${max}`
  const check = (n: number, got: unknown) => (Number.isSafeInteger(n) && n >= min && n <= max ? n : refuse(got))
  return {
    accepts,
    fromValue: (value) => (typeof value === 'number' ? check(value, value) : refuse(value)),
    fromText: (text) => (/^-?\d{1,16}$/.test(text.trim()) ? check(Number(text.trim()), text) : refuse(text)),
  }
}

const TRUE_WORDS = new Set(['true', 'on', 'yes', '1'])
const FALSE_WORDS = new Set(['false', 'off', 'no', '0'])

/** `true` or `false`; as text also on/off, yes/no, 1/0. */
export function boolean(): SettingType<boolean> {
  const accepts = 'true or false (as text also on/off, yes/no, 1/0)'
  return {
    accepts,
    fromValue: (value) => (typeof value === 'boolean' ? value : refuse(value)),
    fromText: (text) => {
      const word = text.trim().toLowerCase()
      return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : refuse(text)
    },
  }
}

/** Whether the process runs in production: as text (NODE_ENV), true exactly when it is `production`. */
export function productionFlag(): SettingType<boolean> {
  return {
    accepts: 'true or false (NODE_ENV: production or anything else)',
    fromValue: boolean().fromValue,
    fromText: (text) => text.trim() === 'production',
  }
}

/** A non-empty string of at most `max` characters. */
export function text(max = 4096): SettingType<string> {
  const accepts = `a non-empty text of at most ${max} characters`
  const check = (value: string) => (value.length > 0 && value.length <= max ? value : refuse(value))
  return { accepts, fromValue: (value) => (typeof value === 'string' ? check(value) : refuse(value)), fromText: check }
}

/** One of a few words. */
export function oneOf<const W extends string>(words: readonly W[]): SettingType<W> {
  const accepts = `one of ${words.join(', ')}`
  const check = (value: unknown) => (words.includes(value as W) ? (value as W) : refuse(value))
  return { accepts, fromValue: check, fromText: (value) => check(value.trim()) }
}

/** A list of non-empty strings; as text, comma-separated. */
export function list(maxItems = 100): SettingType<readonly string[]> {
  const accepts = `a list of at most ${maxItems} non-empty texts (as text: comma-separated)`
  const check = (items: readonly unknown[], got: unknown): readonly string[] =>
    items.length <= maxItems && items.every((i) => typeof i === 'string' && i.length > 0) ? (items as string[]) : refuse(got)
  return {
    accepts,
    fromValue: (value) => (Array.isArray(value) ? check(value, value) : refuse(value)),
    fromText: (value) =>
      check(
        value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
        value,
      ),
  }
}

/** Which proxies to trust: `true` (any), `false` (none), or addresses/CIDRs; as text true/false or a comma-separated list. */
export function proxies(): SettingType<boolean | string[]> {
  const addresses = list()
  return {
    accepts: `true, false, or ${addresses.accepts}`,
    fromValue: (value) => (typeof value === 'boolean' ? value : [...addresses.fromValue(value)]),
    fromText: (text) => {
      const word = text.trim().toLowerCase()
      return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : [...addresses.fromText(text)]
    },
  }
}
