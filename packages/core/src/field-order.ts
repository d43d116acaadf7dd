/**
 * The natural order of a field's values, as the `max` and `min` merge policies use it
 * (PROTOCOL.md §5): numbers numerically, decimals exactly from their strings, dates and
 * date-times chronologically, enums by declared order, strings by code unit.
 */
import type { FieldSpec } from './fields.ts'
import { parseHlc } from './hlc.ts'

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/
const DATE = /^\d{4}-\d{2}-\d{2}$/

interface Decimal {
  readonly negative: boolean
  /** Digits before the point, without leading zeros (empty for zero). */
  readonly whole: string
  /** Digits after the point, without trailing zeros. */
  readonly fraction: string
}

function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL.exec(text)
  if (!m) return undefined
  const whole = (m[2] ?? '').replace(/^0+/, '')
  const fraction = (m[3] ?? '').replace(/0+$/, '')
  // -0 and -0.00 are zero, which has no sign.
  return { negative: m[1] === '-' && (whole !== '' || fraction !== ''), whole, fraction }
}

function compareMagnitude(a: Decimal, b: Decimal): -1 | 0 | 1 {
  if (a.whole.length !== b.whole.length) return a.whole.length < b.whole.length ? -1 : 1
  if (a.whole !== b.whole) return a.whole < b.whole ? -1 : 1
  // Equal-length digit strings compare as numbers; pad the shorter fraction with zeros.
  const width = Math.max(a.fraction.length, b.fraction.length)
  const fa = a.fraction.padEnd(width, '0')
  const fb = b.fraction.padEnd(width, '0')
  return fa < fb ? -1 : fa > fb ? 1 : 0
}

/** True when `value` is a decimal string as the wire carries it (`"12.50"`, `"-3"`). */
export function isDecimalString(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL.test(value)
}

/**
 * Compares two decimal strings exactly, without floating point: `"9.50" < "10.00"`,
 * `"-1.50" < "-1.05"`, `"1.5" = "1.50"`, `"-0.00" = "0"`. Any number of digits. Throws a
 * RangeError when either is not a decimal string.
 */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const x = parseDecimal(a)
  const y = parseDecimal(b)
  if (!x || !y) throw new RangeError(`not a decimal: "${(x ? b : a).slice(0, 40)}"`)
  if (x.negative !== y.negative) return x.negative ? -1 : 1
  const magnitude = compareMagnitude(x, y)
  return x.negative ? ((-magnitude || 0) as -1 | 0 | 1) : magnitude
}

/**
 * True when `value` has a place in its field's order: a finite number for integers, a decimal
 * string for decimals, a valid date or date-time, a declared enum value, a string for string
 * kinds, a boolean. `null`, values of the wrong type and kinds without an order (json, set)
 * have none.
 */
export function isOrderedValue(spec: FieldSpec, value: unknown): boolean {
  switch (spec.kind) {
    case 'integer':
      return typeof value === 'number' && Number.isFinite(value)
    case 'decimal':
      return isDecimalString(value)
    case 'date':
      return typeof value === 'string' && DATE.test(value)
    case 'datetime':
      return typeof value === 'string' && parseHlc(value) !== undefined
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value)
    case 'string':
    case 'text':
    case 'ref':
    case 'owner':
    case 'org':
      return typeof value === 'string'
    case 'boolean':
      return typeof value === 'boolean'
    case 'json':
    case 'set':
      return false
  }
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0
}

/**
 * Orders two values of one field: -1, 0 or 1. Values without a place in the order (see
 * `isOrderedValue`) come before all others and are equal among themselves. Date-times compare
 * chronologically whatever their offset, to the microsecond; booleans as false < true.
 */
export function compareFieldValues(spec: FieldSpec, a: unknown, b: unknown): -1 | 0 | 1 {
  const aOrdered = isOrderedValue(spec, a)
  const bOrdered = isOrderedValue(spec, b)
  if (!aOrdered || !bOrdered) return aOrdered ? 1 : bOrdered ? -1 : 0
  switch (spec.kind) {
    case 'integer':
      return sign((a as number) - (b as number))
    case 'decimal':
      return compareDecimals(a as string, b as string)
    case 'datetime': {
      // isOrderedValue checked that both parse.
      const x = parseHlc(a as string) as { wallMs: number; counter: number }
      const y = parseHlc(b as string) as { wallMs: number; counter: number }
      return sign(x.wallMs - y.wallMs || x.counter - y.counter)
    }
    case 'enum': {
      const values = spec.values ?? []
      return sign(values.indexOf(a as string) - values.indexOf(b as string))
    }
    case 'boolean':
      return sign(Number(a) - Number(b))
    default:
      // Strings, dates (YYYY-MM-DD sorts chronologically as text) and ids: by code unit.
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
  }
}
