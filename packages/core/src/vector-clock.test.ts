import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareClocks, incrementClock, isValidClock, MAX_CLOCK_ENTRIES, mergeClocks, type VectorClock } from './vector-clock.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 500 })

// Few device names, so clocks share entries often; small counters, zeros included.
const device = fc.constantFrom('a', 'b', 'c', 'd', 'dev_8f2', 'dev_1c0')
const clock: fc.Arbitrary<VectorClock> = fc.dictionary(device, fc.nat({ max: 4 }), { maxKeys: 6 })

describe('compareClocks', () => {
  it('orders the basic cases', () => {
    expect(compareClocks({}, {})).toBe('EQUAL')
    expect(compareClocks({ a: 1 }, { a: 1 })).toBe('EQUAL')
    expect(compareClocks({ a: 1 }, { a: 2 })).toBe('BEFORE')
    expect(compareClocks({ a: 2 }, { a: 1 })).toBe('AFTER')
    expect(compareClocks({ a: 2 }, { b: 1 })).toBe('CONCURRENT')
    expect(compareClocks({ a: 1 }, { a: 1, b: 1 })).toBe('BEFORE')
    expect(compareClocks({ a: 1, b: 3 }, { a: 2, b: 2 })).toBe('CONCURRENT')
  })

  it('counts a missing entry as 0', () => {
    expect(compareClocks({ a: 1, b: 0 }, { a: 1 })).toBe('EQUAL')
    expect(compareClocks({}, { a: 0 })).toBe('EQUAL')
    expect(compareClocks({}, { a: 1 })).toBe('BEFORE')
  })

  it('does not read inherited properties', () => {
    const withProto = JSON.parse('{"__proto__": 3}') as VectorClock
    expect(compareClocks({}, withProto)).toBe('BEFORE')
    expect(compareClocks(withProto, {})).toBe('AFTER')
    expect(compareClocks({ constructor: 0 } as VectorClock, {})).toBe('EQUAL')
  })

  it('is reflexive', () => {
    fc.assert(fc.property(clock, (a) => compareClocks(a, a) === 'EQUAL' && compareClocks(a, { ...a }) === 'EQUAL'))
  })

  it('is antisymmetric: BEFORE one way is AFTER the other; EQUAL and CONCURRENT are symmetric', () => {
    const flip = { BEFORE: 'AFTER', AFTER: 'BEFORE', EQUAL: 'EQUAL', CONCURRENT: 'CONCURRENT' } as const
    fc.assert(fc.property(clock, clock, (a, b) => compareClocks(b, a) === flip[compareClocks(a, b)]))
  })

  it('is transitive for BEFORE', () => {
    fc.assert(
      fc.property(clock, clock, clock, (a, b, c) => {
        fc.pre(compareClocks(a, b) === 'BEFORE' && compareClocks(b, c) === 'BEFORE')
        return compareClocks(a, c) === 'BEFORE'
      }),
      { numRuns: 50, maxSkipsPerRun: 1000 },
    )
  })
})

describe('mergeClocks', () => {
  it('takes the pointwise maximum, drops zeros and sorts keys', () => {
    const merged = mergeClocks({ b: 1, a: 3, z: 0 }, { a: 2, c: 5 })
    expect(merged).toEqual({ a: 3, b: 1, c: 5 })
    expect(Object.keys(merged)).toEqual(['a', 'b', 'c'])
  })

  it('does not change its inputs', () => {
    const a = { a: 1 }
    const b = { b: 2 }
    mergeClocks(a, b)
    expect(a).toEqual({ a: 1 })
    expect(b).toEqual({ b: 2 })
  })

  it('keeps a __proto__ key as data, not as the prototype', () => {
    const merged = mergeClocks(JSON.parse('{"__proto__": 2}') as VectorClock, {})
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype)
    expect(Object.hasOwn(merged, '__proto__')).toBe(true)
  })

  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(clock, clock, clock, (a, b, c) => {
        expect(mergeClocks(a, b)).toEqual(mergeClocks(b, a))
        expect(mergeClocks(mergeClocks(a, b), c)).toEqual(mergeClocks(a, mergeClocks(b, c)))
        expect(compareClocks(mergeClocks(a, a), a)).toBe('EQUAL')
        expect(mergeClocks(mergeClocks(a, b), b)).toEqual(mergeClocks(a, b))
      }),
    )
  })

  it('is AFTER or EQUAL each input', () => {
    fc.assert(
      fc.property(clock, clock, (a, b) => {
        const m = mergeClocks(a, b)
        expect(['AFTER', 'EQUAL']).toContain(compareClocks(m, a))
        expect(['AFTER', 'EQUAL']).toContain(compareClocks(m, b))
      }),
    )
  })

  it('is EQUAL to the later clock when one happened before the other', () => {
    fc.assert(
      fc.property(clock, clock, (a, b) => {
        fc.pre(compareClocks(a, b) === 'BEFORE')
        return compareClocks(mergeClocks(a, b), b) === 'EQUAL'
      }),
    )
  })
})

describe('incrementClock', () => {
  it('adds one to the device entry, creating it when missing', () => {
    expect(incrementClock({}, 'a')).toEqual({ a: 1 })
    expect(incrementClock({ a: 4, b: 1 }, 'a')).toEqual({ a: 5, b: 1 })
  })

  it('makes the clock AFTER the one it started from and AFTER-or-CONCURRENT anything it was not behind', () => {
    fc.assert(
      fc.property(clock, device, clock, (a, d, other) => {
        const next = incrementClock(a, d)
        expect(compareClocks(next, a)).toBe('AFTER')
        expect(compareClocks(a, next)).toBe('BEFORE')
        if (compareClocks(a, other) !== 'BEFORE') expect(['AFTER', 'CONCURRENT']).toContain(compareClocks(next, other))
      }),
    )
  })

  it('refuses an invalid device id or an overflowing counter', () => {
    expect(() => incrementClock({}, '')).toThrow(RangeError)
    expect(() => incrementClock({}, '__proto__')).toThrow(RangeError)
    expect(() => incrementClock({}, 'x'.repeat(129))).toThrow(RangeError)
    expect(() => incrementClock({ a: Number.MAX_SAFE_INTEGER }, 'a')).toThrow(RangeError)
  })
})

describe('isValidClock', () => {
  it('accepts well-formed clocks', () => {
    expect(isValidClock({})).toBe(true)
    expect(isValidClock({ dev_8f2: 5, dev_1c0: 0 })).toBe(true)
    expect(isValidClock(Object.assign(Object.create(null), { a: 1 }))).toBe(true)
    expect(isValidClock({ ['x'.repeat(128)]: Number.MAX_SAFE_INTEGER })).toBe(true)
    expect(isValidClock(Object.fromEntries(Array.from({ length: MAX_CLOCK_ENTRIES }, (_, i) => [`d${i}`, i])))).toBe(true)
  })

  it('accepts every generated clock', () => {
    fc.assert(fc.property(clock, (c) => isValidClock(c)))
  })

  it.each([
    ['null', null],
    ['an array', [1, 2]],
    ['a string', '{"a":1}'],
    ['a number', 3],
    ['a class instance', new Map([['a', 1]])],
    ['a Date', new Date()],
    ['a negative value', { a: -1 }],
    ['a fractional value', { a: 1.5 }],
    ['NaN', { a: Number.NaN }],
    ['Infinity', { a: Number.POSITIVE_INFINITY }],
    ['an unsafe integer', { a: 2 ** 53 }],
    ['a string value', { a: '1' }],
    ['a null value', { a: null }],
    ['an empty key', { '': 1 }],
    ['a key over 128 characters', { ['x'.repeat(129)]: 1 }],
    ['a __proto__ key', JSON.parse('{"__proto__": 1}')],
    ['a constructor key', { constructor: 1 }],
    ['a prototype key', { prototype: 1 }],
    ['a symbol key', { [Symbol('s')]: 1 }],
    ['a getter', Object.defineProperty({}, 'a', { get: () => 1, enumerable: true })],
    ['too many entries', Object.fromEntries(Array.from({ length: MAX_CLOCK_ENTRIES + 1 }, (_, i) => [`d${i}`, 1]))],
  ])('refuses %s', (_name, value) => {
    expect(isValidClock(value)).toBe(false)
  })
})
