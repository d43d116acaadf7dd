import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isPulseError, type PulseError } from './errors.ts'
import { f } from './fields.ts'
import { defineModel } from './model.ts'
import { checkClockText, checkFieldValue, textProblem, validateCreate, validateUpdate } from './validate.ts'

const item = defineModel('item', {
  fields: {
    name: f.string({ max: 5 }),
    price: f.decimal({ precision: 6, scale: 2 }),
    qty: f.integer({ min: 0, max: 100, default: 1 }),
    when: f.datetime({ nullable: true }),
    day: f.date({ nullable: true }),
    kind: f.enum(['a', 'b'], { default: 'a' }),
    tags: f.set({ default: [] }),
    meta: f.json({ nullable: true }),
    flag: f.boolean({ default: false }),
    parentId: f.ref('item', { nullable: true }),
  },
})

function problems(fn: () => unknown): PulseError {
  try {
    fn()
  } catch (e) {
    if (isPulseError(e)) return e
    throw e
  }
  throw new Error('expected a PulseError')
}

describe('validateCreate', () => {
  it('fills defaults and canonicalises values', () => {
    const { values } = validateCreate(item, { name: 'pen', price: '3.5', when: '2026-11-23T11:00:00+01:00', tags: ['b', 'a', 'b'] })
    expect(values).toEqual({
      name: 'pen',
      price: '3.50',
      qty: 1,
      when: '2026-11-23T10:00:00.000Z',
      day: null,
      kind: 'a',
      tags: ['a', 'b'],
      meta: null,
      flag: false,
      parentId: null,
    })
  })

  it('reports every problem at once', () => {
    const e = problems(() =>
      validateCreate(item, {
        name: 'far too long',
        price: 12.345,
        qty: 101,
        when: 'yesterday',
        day: '2026-02-30',
        kind: 'z',
        tags: [1],
        flag: 'yes',
        parentId: 'not-a-uuid',
        extra: 1,
        version: 3,
      }),
    )
    expect(e.code).toBe('validation_failed')
    const byField = Object.fromEntries((e.details ?? []).map((d) => [d.field, d.code]))
    expect(byField).toEqual({
      name: 'too_long',
      price: 'too_many_decimals',
      qty: 'out_of_range',
      when: 'invalid_datetime',
      day: 'invalid_date',
      kind: 'invalid_choice',
      tags: 'wrong_type',
      flag: 'wrong_type',
      parentId: 'invalid_id',
      extra: 'unknown_field',
      version: 'read_only',
    })
  })

  it('lists missing required fields and refuses non-objects', () => {
    const e = problems(() => validateCreate(item, {}))
    expect(e.details?.map((d) => [d.field, d.code])).toEqual([
      ['name', 'required'],
      ['price', 'required'],
    ])
    expect(problems(() => validateCreate(item, [1])).code).toBe('validation_failed')
    expect(problems(() => validateCreate(item, null)).code).toBe('validation_failed')
  })

  it('refuses prototype-pollution keys as unknown fields', () => {
    const input = JSON.parse('{"name":"a","price":"1","__proto__":{"polluted":true}}')
    const e = problems(() => validateCreate(item, input))
    expect(e.details?.[0]).toMatchObject({ field: '__proto__', code: 'unknown_field' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('accepts a client-made id, lowercased', () => {
    const { id } = validateCreate(item, { id: '0192F0B4-1C6A-7000-8000-000000000001', name: 'a', price: '1' })
    expect(id).toBe('0192f0b4-1c6a-7000-8000-000000000001')
  })

  it('checks decimal precision and sign', () => {
    const spec = item.specs.get('price')
    if (!spec) throw new Error('no price')
    expect(checkFieldValue(spec, '-0.5')).toEqual({ ok: true, value: '-0.50' })
    expect(checkFieldValue(spec, '-0')).toEqual({ ok: true, value: '0.00' })
    expect(checkFieldValue(spec, '0001.10')).toEqual({ ok: true, value: '1.10' })
    expect(checkFieldValue(spec, '9999.99')).toEqual({ ok: true, value: '9999.99' })
    expect(checkFieldValue(spec, '10000')).toMatchObject({ ok: false, code: 'out_of_range' })
    expect(checkFieldValue(spec, '1e3')).toMatchObject({ ok: false, code: 'invalid_decimal' })
  })

  it('counts string length in characters, not UTF-16 units', () => {
    expect(() => validateCreate(item, { name: '😀😀😀😀😀', price: '1' })).not.toThrow()
    expect(problems(() => validateCreate(item, { name: '😀😀😀😀😀😀', price: '1' })).details?.[0]?.code).toBe('too_long')
  })

  it('never throws anything but a PulseError, whatever the input (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('name', 'price', 'qty', 'when', 'day', 'kind', 'tags', 'meta', 'flag', 'x'), fc.jsonValue()),
        (input) => {
          try {
            validateCreate(item, input)
          } catch (e) {
            expect(isPulseError(e)).toBe(true)
          }
        },
      ),
      { seed: Number(process.env.FC_SEED ?? 42), numRuns: Number(process.env.FC_RUNS ?? 300) },
    )
  })
})

describe('validateUpdate', () => {
  it('checks only the given fields and refuses an empty update', () => {
    expect(validateUpdate(item, { qty: 3 })).toEqual({ qty: 3 })
    expect(problems(() => validateUpdate(item, {})).details?.[0]?.code).toBe('empty_update')
    expect(problems(() => validateUpdate(item, { name: null })).details?.[0]?.code).toBe('not_nullable')
    expect(validateUpdate(item, { when: null })).toEqual({ when: null })
  })
})

describe('json fields', () => {
  it('refuse the NUL character anywhere (PostgreSQL cannot store it), but not an escaped backslash-u', () => {
    const spec = { kind: 'json', nullable: false, required: true, merge: 'lww' } as const
    expect(checkFieldValue(spec, { a: ['x\u0000'] })).toMatchObject({ ok: false, code: 'invalid_character' })
    expect(checkFieldValue(spec, { 'k\u0000': 1 })).toMatchObject({ ok: false, code: 'invalid_character' })
    expect(checkFieldValue(spec, { a: '\\u0000' })).toMatchObject({ ok: true })
  })
})

describe('text every database can store', () => {
  const problemOf = (value: unknown) => {
    const checked = checkFieldValue(item.specs.get('name') as never, value)
    return checked.ok ? undefined : checked.code
  }

  it('refuses NUL and lone surrogates in strings, set members and json (nested strings and keys)', () => {
    for (const bad of ['a\u0000', '\ud800', 'x\udc00y', '\udbff', 'a\ud800\ud800b']) {
      expect(problemOf(bad), JSON.stringify(bad)).toBe('invalid_character')
      expect(problems(() => validateCreate(item, { name: 'pen', price: '1', tags: [bad] })).details?.[0]).toMatchObject({
        field: 'tags',
        code: 'invalid_character',
      })
      expect(problems(() => validateCreate(item, { name: 'pen', price: '1', meta: { a: [{ b: bad }] } })).details?.[0]).toMatchObject({
        field: 'meta',
        code: 'invalid_character',
      })
      expect(problems(() => validateUpdate(item, { meta: { [bad]: 1 } })).details?.[0]?.code).toBe('invalid_character')
    }
  })

  it('accepts every well-formed string, astral characters included', () => {
    for (const good of ['', 'pen', '😀', 'é\u0301', '\u0001', '\uffff']) expect(textProblem(good), JSON.stringify(good)).toBeUndefined()
    expect(validateUpdate(item, { tags: ['😀', 'a'], meta: { '😀': ['\t'] } })).toEqual({ tags: ['a', '😀'], meta: { '😀': ['\t'] } })
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => textProblem(s) === undefined),
      { numRuns: 500 },
    )
  })

  it('refuses a vector clock naming a device id with NUL or a lone surrogate', () => {
    expect(() => checkClockText({ dev_a: 1, 'dev\u0000': 2 })).toThrow(/NUL/)
    expect(problems(() => checkClockText({ '\ud83d': 1 })).details?.[0]).toMatchObject({ field: 'vclock', code: 'invalid_character' })
    expect(() => checkClockText({ dev_a: 1, '😀': 2 })).not.toThrow()
  })
})
