import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareDecimals, compareFieldValues, isOrderedValue } from './field-order.ts'
import { f } from './fields.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 500 })

/** A decimal string for `units / 10^scale`, with optional leading and trailing zeros, and its exact value scaled to 10^-8. */
const decimal = fc
  .record({
    units: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
    scale: fc.nat({ max: 4 }),
    lead: fc.nat({ max: 2 }),
    trail: fc.nat({ max: 2 }),
    plus: fc.boolean(),
  })
  .map(({ units, scale, lead, trail, plus }) => {
    const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0')
    const whole = '0'.repeat(lead) + digits.slice(0, digits.length - scale)
    const fraction = digits.slice(digits.length - scale) + '0'.repeat(trail)
    const signText = units < 0n ? '-' : plus ? '+' : ''
    return { text: `${signText}${whole}${fraction ? `.${fraction}` : ''}`, exact: units * 10n ** BigInt(8 - scale) }
  })

describe('compareDecimals', () => {
  it.each([
    ['9.50', '10.00', -1],
    ['10.00', '9.50', 1],
    ['-1.50', '-1.05', -1],
    ['-10', '-9.99', -1],
    ['-0.01', '0', -1],
    ['1.5', '1.50', 0],
    ['-0.00', '0', 0],
    ['+3', '3.000', 0],
    ['007.1', '7.10', 0],
    ['12345678901234567890.000000000000000001', '12345678901234567890', 1],
  ] as const)('compares %s with %s as %i', (a, b, expected) => {
    expect(compareDecimals(a, b)).toBe(expected)
  })

  it('agrees with exact arithmetic', () => {
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const expected = a.exact < b.exact ? -1 : a.exact > b.exact ? 1 : 0
        expect(compareDecimals(a.text, b.text)).toBe(expected)
      }),
    )
  })

  it('throws on a non-decimal', () => {
    expect(() => compareDecimals('1e3', '1')).toThrow(RangeError)
    expect(() => compareDecimals('1', '.5')).toThrow(RangeError)
  })
})

describe('compareFieldValues', () => {
  it('orders integers numerically', () => {
    expect(compareFieldValues(f.integer().spec, 9, 10)).toBe(-1)
    expect(compareFieldValues(f.integer().spec, -3, -3)).toBe(0)
  })

  it('orders dates and date-times chronologically, across offsets and to the microsecond', () => {
    expect(compareFieldValues(f.date().spec, '2026-01-31', '2026-02-01')).toBe(-1)
    const dt = f.datetime().spec
    expect(compareFieldValues(dt, '2026-11-23T11:00:00.000+01:00', '2026-11-23T10:00:00.000Z')).toBe(0)
    expect(compareFieldValues(dt, '2026-11-23T10:30:00.000+01:00', '2026-11-23T10:00:00.000Z')).toBe(-1)
    expect(compareFieldValues(dt, '2026-11-23T10:00:00.000002Z', '2026-11-23T10:00:00.000001Z')).toBe(1)
  })

  it('orders enums by declared order, not alphabetically', () => {
    const priority = f.enum(['low', 'medium', 'high']).spec
    expect(compareFieldValues(priority, 'high', 'medium')).toBe(1)
    expect(compareFieldValues(priority, 'low', 'medium')).toBe(-1)
  })

  it('orders strings by code unit and booleans false < true', () => {
    expect(compareFieldValues(f.string().spec, 'B', 'a')).toBe(-1)
    expect(compareFieldValues(f.text().spec, 'ab', 'a')).toBe(1)
    expect(compareFieldValues(f.boolean().spec, true, false)).toBe(1)
  })

  it('puts values without a place in the order first, equal among themselves', () => {
    const priority = f.enum(['low', 'high']).spec
    expect(isOrderedValue(priority, 'urgent')).toBe(false)
    expect(compareFieldValues(priority, 'urgent', 'low')).toBe(-1)
    expect(compareFieldValues(f.integer({ nullable: true }).spec, null, -1_000)).toBe(-1)
    expect(compareFieldValues(f.integer().spec, '5', 1)).toBe(-1)
    expect(compareFieldValues(f.decimal().spec, 'abc', null)).toBe(0)
    expect(compareFieldValues(f.datetime().spec, 'not a time', '2026-11-23T10:00:00.000Z')).toBe(-1)
    expect(compareFieldValues(f.json().spec, { a: 1 }, { a: 2 })).toBe(0)
    expect(compareFieldValues(f.set().spec, ['a'], ['b'])).toBe(0)
  })

  it('is antisymmetric', () => {
    const spec = f.decimal({ nullable: true }).spec
    const value = fc.oneof(
      decimal.map((d) => d.text),
      fc.constant(null),
    )
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(compareFieldValues(spec, a, b)).toBe(-compareFieldValues(spec, b, a) || 0)
      }),
    )
  })
})
