import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { type FieldSpec, f, type MergeContext, type MergeSpec } from './fields.ts'
import { type FieldConflict, resolveField } from './merge-field.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 300 })

const EARLY = '2026-11-23T10:00:00.000000Z'
const LATE = '2026-11-23T10:00:00.000001Z'

const ctx: MergeContext = {
  model: 'task',
  field: 'f',
  recordId: '01937b6e-0000-7000-8000-000000000000',
  serverAt: EARLY,
  clientAt: EARLY,
  serverDeviceId: 'dev_a',
  clientDeviceId: 'dev_b',
}

/** A conflict where, unless overridden, the sides have equal `at` and the client's device id is larger. */
function conflict(server: unknown, client: unknown, more: Partial<FieldConflict> = {}): FieldConflict {
  return { base: null, server, client, serverAt: EARLY, clientAt: EARLY, serverDeviceId: 'dev_a', clientDeviceId: 'dev_b', ctx, ...more }
}

/** The same conflict seen from the other side: values swapped together with their at and device. */
function swapSides(c: FieldConflict): FieldConflict {
  return {
    ...c,
    server: c.client,
    client: c.server,
    serverAt: c.clientAt,
    clientAt: c.serverAt,
    serverDeviceId: c.clientDeviceId,
    clientDeviceId: c.serverDeviceId,
  }
}

const withMerge = (spec: FieldSpec, merge: MergeSpec): FieldSpec => ({ ...spec, merge })
const settled = (spec: FieldSpec, c: FieldConflict): unknown => {
  const r = resolveField(spec, c)
  if (!('value' in r)) throw new Error('expected a value, got manual')
  return r.value
}

describe('lww', () => {
  const spec = f.string().spec
  it('lets the later at win, whichever side it is on', () => {
    expect(settled(spec, conflict('s', 'c', { serverAt: LATE }))).toBe('s')
    expect(settled(spec, conflict('s', 'c', { clientAt: LATE }))).toBe('c')
  })

  it('compares at in HLC order across ISO forms', () => {
    expect(settled(spec, conflict('s', 'c', { serverAt: '2026-11-23T10:00:00.000Z', clientAt: '2026-11-23T10:00:00.000001Z' }))).toBe('c')
    expect(settled(spec, conflict('s', 'c', { serverAt: '2026-11-23T11:00:00.000+01:00', clientAt: '2026-11-23T09:59:59.999Z' }))).toBe('s')
  })

  it('breaks a tie of at by the larger device id', () => {
    expect(settled(spec, conflict('s', 'c'))).toBe('c')
    expect(settled(spec, conflict('s', 'c', { serverDeviceId: 'dev_z' }))).toBe('s')
  })

  it('breaks a tie of at and device by value, the same whichever side', () => {
    const c = conflict('apple', 'banana', { clientDeviceId: 'dev_a' })
    expect(settled(spec, c)).toBe(settled(spec, swapSides(c)))
  })

  it('keeps null like any value', () => {
    expect(settled(f.string({ nullable: true }).spec, conflict('s', null, { clientAt: LATE }))).toBeNull()
  })

  it('is the default policy', () => {
    expect(f.integer().spec.merge).toBe('lww')
  })
})

describe('serverWins and clientWins', () => {
  it('keep the named side whatever the times', () => {
    expect(settled(f.integer({ merge: 'serverWins' }).spec, conflict(1, 2, { clientAt: LATE }))).toBe(1)
    expect(settled(f.integer({ merge: 'clientWins' }).spec, conflict(1, 2, { serverAt: LATE }))).toBe(2)
  })
})

describe('max and min', () => {
  it('compare integers numerically', () => {
    expect(settled(f.integer({ merge: 'max' }).spec, conflict(9, 10, { serverAt: LATE }))).toBe(10)
    expect(settled(f.integer({ merge: 'min' }).spec, conflict(9, 10))).toBe(9)
  })

  it('compare decimals exactly, negatives included', () => {
    const max = f.decimal({ merge: 'max' }).spec
    const min = f.decimal({ merge: 'min' }).spec
    expect(settled(max, conflict('9.50', '10.00', { serverAt: LATE }))).toBe('10.00')
    expect(settled(min, conflict('10.00', '9.50'))).toBe('9.50')
    expect(settled(max, conflict('-1.50', '-1.05'))).toBe('-1.05')
    expect(settled(min, conflict('-1.50', '-1.05'))).toBe('-1.50')
    expect(settled(max, conflict('-0.01', '0.00'))).toBe('0.00')
  })

  it('settle decimals equal in value by lww', () => {
    expect(settled(f.decimal({ merge: 'max' }).spec, conflict('1.5', '1.50', { serverAt: LATE }))).toBe('1.5')
    expect(settled(f.decimal({ merge: 'max' }).spec, conflict('1.5', '1.50'))).toBe('1.50')
  })

  it('compare dates and date-times chronologically', () => {
    expect(settled(f.date({ merge: 'min' }).spec, conflict('2026-12-01', '2026-11-30'))).toBe('2026-11-30')
    const dueAt = f.datetime({ merge: 'min' }).spec
    expect(settled(dueAt, conflict('2026-11-23T10:30:00.000+01:00', '2026-11-23T10:00:00.000Z'))).toBe('2026-11-23T10:30:00.000+01:00')
  })

  it('compare enums by declared order', () => {
    const priority = f.enum(['low', 'medium', 'high'], { merge: 'max' }).spec
    expect(settled(priority, conflict('high', 'low', { clientAt: LATE }))).toBe('high')
    expect(settled({ ...priority, merge: 'min' }, conflict('high', 'medium'))).toBe('medium')
  })

  it('compare strings by code unit', () => {
    expect(settled(f.string({ merge: 'max' }).spec, conflict('Zebra', 'apple'))).toBe('apple')
  })

  it('let null lose to any value, for max and for min', () => {
    const max = f.integer({ nullable: true, merge: 'max' }).spec
    const min = f.integer({ nullable: true, merge: 'min' }).spec
    expect(settled(max, conflict(null, -5, { serverAt: LATE }))).toBe(-5)
    expect(settled(min, conflict(3, null, { clientAt: LATE }))).toBe(3)
    expect(settled(min, conflict(null, null))).toBeNull()
  })

  it('let an undeclared enum value lose', () => {
    const priority = f.enum(['low', 'high'], { merge: 'max' }).spec
    expect(settled(priority, conflict('urgent', 'low', { serverAt: LATE }))).toBe('low')
  })
})

describe('union', () => {
  const tags = f.set({ nullable: true, merge: 'union' }).spec
  it('merges sets against the base', () => {
    expect(settled(tags, conflict(['a', 'c'], ['a', 'b', 'd'], { base: ['a', 'b'] }))).toEqual(['a', 'c', 'd'])
  })

  it('counts null and an unknown base as the empty set', () => {
    expect(settled(tags, conflict(null, ['x'], { base: null }))).toEqual(['x'])
    expect(settled(tags, conflict(['b'], ['a'], { base: undefined }))).toEqual(['a', 'b'])
  })
})

describe('text', () => {
  const body = f.text({ merge: 'text' }).spec
  it('combines non-overlapping edits', () => {
    const c = conflict('The slow brown fox', 'The quick brown dog', { base: 'The quick brown fox' })
    expect(settled(body, c)).toBe('The slow brown dog')
  })

  it('falls back to lww on overlapping edits, by default', () => {
    const c = conflict('The slow fox', 'The fast fox', { base: 'The quick fox', serverAt: LATE })
    expect(settled(body, c)).toBe('The slow fox')
    expect(settled(withMerge(body, { policy: 'text' }), c)).toBe('The slow fox')
  })

  it('falls back to the declared fallback', () => {
    const c = conflict('The slow fox', 'The fast fox', { base: 'The quick fox', serverAt: LATE })
    expect(settled(withMerge(body, { policy: 'text', fallback: 'clientWins' }), c)).toBe('The fast fox')
    expect(resolveField(withMerge(body, { policy: 'text', fallback: 'manual' }), c)).toEqual({ manual: true })
  })

  it('counts a null base as empty text, and falls back when the base is unknown or a side is not text', () => {
    expect(settled(body, conflict('', 'new text', { base: null }))).toBe('new text')
    expect(settled(body, conflict('old', 'new', { base: undefined, serverAt: LATE }))).toBe('old')
    const nullable = f.text({ nullable: true, merge: 'text' }).spec
    expect(settled(nullable, conflict(null, 'a b c', { base: 'a b', serverAt: LATE }))).toBeNull()
  })

  it('falls back when the merged string would be too long for the field', () => {
    const title = f.string({ max: 12, merge: { policy: 'text', fallback: 'serverWins' } }).spec
    const c = conflict('aaaaa bbbb', 'aaa bbbb cc', { base: 'aaa bbbb' })
    expect(settled(title, c)).toBe('aaaaa bbbb')
    expect(settled({ ...title, maxLength: 20 }, c)).toBe('aaaaa bbbb cc')
  })
})

describe('state', () => {
  const status = f.enum(['todo', 'doing', 'done'], { merge: 'state' }).spec
  it('lets the state further along the declared order win', () => {
    expect(settled(status, conflict('done', 'doing', { clientAt: LATE }))).toBe('done')
    expect(settled(status, conflict('todo', 'doing', { serverAt: LATE }))).toBe('doing')
  })

  it('uses an explicit order over the enum order', () => {
    const reversed = withMerge(status, { policy: 'state', order: ['done', 'doing', 'todo'] })
    expect(settled(reversed, conflict('done', 'todo'))).toBe('todo')
  })

  it('lets values not in the order lose, and settles two unknown states by lww', () => {
    expect(settled(status, conflict('archived', 'todo', { serverAt: LATE }))).toBe('todo')
    expect(settled(status, conflict(null, 'todo', { serverAt: LATE }))).toBe('todo')
    expect(settled(status, conflict('x', 'y', { serverAt: LATE }))).toBe('x')
  })
})

describe('manual', () => {
  const spec = f.string({ merge: 'manual' }).spec
  it('asks for a person', () => {
    expect(resolveField(spec, conflict('s', 'c'))).toEqual({ manual: true })
  })

  it('settles without a person when both sides agree', () => {
    expect(resolveField(spec, conflict('same', 'same'))).toEqual({ value: 'same' })
    expect(resolveField(f.json({ merge: 'manual' }).spec, conflict({ a: 1, b: [2] }, { b: [2], a: 1 }))).toEqual({
      value: { a: 1, b: [2] },
    })
  })
})

describe('custom', () => {
  it('is called with base, server, client and ctx, and its result is the value', () => {
    const sumDeltas = vi.fn((base: unknown, server: unknown, client: unknown) => Number(server) + Number(client) - Number(base))
    const spec = f.integer({ merge: sumDeltas }).spec
    const c = conflict(7, 7, { base: 5 })
    expect(resolveField(spec, c)).toEqual({ value: 9 })
    expect(sumDeltas).toHaveBeenCalledWith(5, 7, 7, ctx)
  })

  it('lets what it throws reach the caller', () => {
    const spec = f.integer({
      merge: () => {
        throw new Error('nope')
      },
    }).spec
    expect(() => resolveField(spec, conflict(1, 2))).toThrow('nope')
  })
})

describe('properties', () => {
  const at = fc.constantFrom(EARLY, LATE, '2026-11-23T10:00:00.000Z', '2026-11-23T09:00:00.000000Z')
  const device = fc.constantFrom('dev_a', 'dev_b', 'dev_c')
  const sides = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<FieldConflict> =>
    fc
      .record({ base: value, server: value, client: value, serverAt: at, clientAt: at, serverDeviceId: device, clientDeviceId: device })
      .map((c) => ({ ...c, ctx }))
  const set = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 4 }).map((s) => [...new Set(s)].sort())
  const decimal = fc
    .integer({ min: -2000, max: 2000 })
    .map((n) => `${n < 0 ? '-' : ''}${Math.floor(Math.abs(n) / 100)}.${String(Math.abs(n) % 100).padStart(2, '0')}`)

  const cases: [string, FieldSpec, fc.Arbitrary<FieldConflict>][] = [
    ['lww', f.string({ nullable: true }).spec, sides(fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null }))],
    ['max integer', f.integer({ nullable: true, merge: 'max' }).spec, sides(fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }))],
    ['min decimal', f.decimal({ nullable: true, merge: 'min' }).spec, sides(fc.option(decimal, { nil: null }))],
    [
      'max decimal (equal values written differently)',
      f.decimal({ merge: 'max' }).spec,
      sides(fc.constantFrom('1.5', '1.50', '01.5', '-0', '0.00')),
    ],
    [
      'min enum',
      f.enum(['low', 'mid', 'high'], { nullable: true, merge: 'min' }).spec,
      sides(fc.constantFrom('low', 'mid', 'high', 'bogus', null)),
    ],
    ['state', f.enum(['todo', 'doing', 'done'], { merge: 'state' }).spec, sides(fc.constantFrom('todo', 'doing', 'done', 'bogus'))],
    ['union', f.set({ merge: 'union' }).spec, sides(set)],
  ]

  it.each(cases)('%s is commutative when the sides swap with their at and device', (_name, spec, arb) => {
    fc.assert(
      fc.property(arb, (c) => {
        expect(resolveField(spec, swapSides(c))).toEqual(resolveField(spec, c))
      }),
    )
  })

  it('union with a side that made no change gives the other side', () => {
    const spec = f.set({ merge: 'union' }).spec
    fc.assert(
      fc.property(sides(set), (c) => {
        expect(settled(spec, { ...c, server: c.base })).toEqual(c.client)
        expect(settled(spec, { ...c, client: c.base })).toEqual(c.server)
      }),
    )
  })

  it('text with a side that made no change, or two equal sides, gives that text', () => {
    const spec = f.text({ merge: { policy: 'text', fallback: 'manual' } }).spec
    const text = fc.array(fc.constantFrom('a', 'b', ' ', '\n', '.', 'é'), { maxLength: 12 }).map((p) => p.join(''))
    fc.assert(
      fc.property(sides(text), (c) => {
        expect(resolveField(spec, { ...c, server: c.base })).toEqual({ value: c.client })
        expect(resolveField(spec, { ...c, client: c.base })).toEqual({ value: c.server })
        expect(resolveField(spec, { ...c, client: c.server })).toEqual({ value: c.server })
      }),
    )
  })

  it('every named policy keeps one of the two values, except union and text, which merge', () => {
    const spec = f.integer({ nullable: true }).spec
    const policies = ['lww', 'serverWins', 'clientWins', 'max', 'min', 'state'] as const
    fc.assert(
      fc.property(sides(fc.option(fc.integer({ min: -3, max: 3 }), { nil: null })), fc.constantFrom(...policies), (c, policy) => {
        expect([c.server, c.client]).toContain(settled(withMerge(spec, policy), c))
      }),
    )
  })
})
