import { compareClocks, isPulseError, isValidClock, MAX_CLOCK_ENTRIES, type VectorClock } from '@pulse/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { advanceClock, checkClockClaim, MAX_STORED_CLOCK_ENTRIES, orderOfEdit, SERVER_CLOCK_ID } from './clock-rules.ts'

const writer = fc.constantFrom('dev_a', 'dev_b', 'dev_c', SERVER_CLOCK_ID)
const clock: fc.Arbitrary<VectorClock> = fc.dictionary(writer, fc.nat({ max: 20 }))

function claimError(sent: VectorClock, stored: VectorClock, deviceId: string): unknown {
  try {
    checkClockClaim(sent, stored, deviceId)
    return undefined
  } catch (e) {
    return e
  }
}

describe('advanceClock', () => {
  it('moves only the writer\u2019s entry, by one, keys sorted, zero entries dropped', () => {
    expect(advanceClock({}, 'dev_a')).toEqual({ dev_a: 1 })
    expect(Object.keys(advanceClock({ server: 2, dev_b: 0, dev_a: 3 }, 'dev_c'))).toEqual(['dev_a', 'dev_c', 'server'])
    fc.assert(
      fc.property(clock, writer, (stored, who) => {
        const next = advanceClock(stored, who)
        expect(next[who]).toBe((stored[who] ?? 0) + 1)
        for (const [key, value] of Object.entries(stored)) if (key !== who && value > 0) expect(next[key]).toBe(value)
        expect(compareClocks(next, stored)).toBe('AFTER')
      }),
    )
  })

  it('never leaves the safe range: an entry already at its end stays there', () => {
    expect(advanceClock({ server: Number.MAX_SAFE_INTEGER }, SERVER_CLOCK_ID)).toEqual({ server: Number.MAX_SAFE_INTEGER })
    expect(advanceClock({ dev_a: Number.MAX_SAFE_INTEGER - 1 }, 'dev_a')).toEqual({ dev_a: Number.MAX_SAFE_INTEGER })
  })

  it('holds at most MAX_STORED_CLOCK_ENTRIES, the server\u2019s place always kept; a new device past them is refused', () => {
    const full = (devices: number, server: boolean): VectorClock =>
      Object.fromEntries([...Array.from({ length: devices }, (_, i) => [`dev_${i}`, 1]), ...(server ? [[SERVER_CLOCK_ID, 1]] : [])])
    const max = MAX_STORED_CLOCK_ENTRIES
    expect(max).toBe(MAX_CLOCK_ENTRIES - 1)
    // Devices fill all but the server's place, with or without a server entry yet.
    for (const server of [true, false]) {
      const almost = full(max - 2, server)
      const filled = advanceClock(almost, 'dev_new')
      expect(Object.keys(filled)).toHaveLength(max - 1 + (server ? 1 : 0))
      expect(() => advanceClock(filled, 'dev_newer')).toThrow(expect.objectContaining({ code: 'validation_failed' }))
      // Known devices and the server still advance; the server's entry fits.
      expect(advanceClock(filled, 'dev_0').dev_0).toBe(2)
      expect(Object.keys(advanceClock(filled, SERVER_CLOCK_ID))).toHaveLength(max)
    }
    // Any order of writers: the stored clock never grows past the bound, and a pushed clock
    // (a stored one and the pusher's own new entry) never past what the parser accepts.
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant(SERVER_CLOCK_ID),
            fc.nat({ max: 1500 }).map((i) => `dev_${i}`),
          ),
          { minLength: 1000, maxLength: 2500 },
        ),
        (writers) => {
          let clock: VectorClock = {}
          for (const w of writers) {
            try {
              clock = advanceClock(clock, w)
            } catch (e) {
              expect(w).not.toBe(SERVER_CLOCK_ID)
              expect(e).toMatchObject({ code: 'validation_failed' })
            }
            expect(Object.keys(clock).length).toBeLessThanOrEqual(max)
            expect(isValidClock({ ...clock, dev_pusher: 1 })).toBe(true)
          }
        },
      ),
      { numRuns: 10 },
    )
  })

  it('keeps a __proto__ key as data', () => {
    const stored = JSON.parse('{"__proto__": 2}') as VectorClock
    const next = advanceClock(stored, 'dev_a')
    expect(Object.getPrototypeOf(next)).toBe(Object.prototype)
    expect(Object.hasOwn(next, '__proto__')).toBe(true)
  })
})

describe('checkClockClaim and orderOfEdit', () => {
  it('accept a clock whose other entries are at most the record\u2019s, whatever the device\u2019s own entry', () => {
    fc.assert(
      fc.property(clock, writer, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.func(fc.boolean()), (stored, device, own, keep) => {
        // Any clock at or below the record's on every other entry: what an honest client can send.
        const sent: VectorClock = { [device]: own }
        for (const [key, value] of Object.entries(stored)) if (key !== device && keep(key)) sent[key] = value
        expect(claimError(sent, stored, device)).toBeUndefined()
        expect(orderOfEdit(sent, stored, device)).toBe(compareClocks(sent, stored))
      }),
    )
  })

  it('refuse an entry of another writer above the record\u2019s with clock_ahead, naming it', () => {
    fc.assert(
      fc.property(clock, writer, writer, fc.integer({ min: 1, max: 1000 }), (stored, device, other, excess) => {
        fc.pre(other !== device)
        const sent = { ...stored, [other]: (stored[other] ?? 0) + excess }
        const error = claimError(sent, stored, device)
        expect(isPulseError(error) && error.code === 'clock_ahead').toBe(true)
        expect((error as Error).message).toContain(other)
        expect(() => orderOfEdit(sent, stored, device)).toThrow()
      }),
    )
  })

  it('let a new record be created naming only the creating device', () => {
    expect(claimError({ dev_a: 7 }, {}, 'dev_a')).toBeUndefined()
    expect(claimError({ dev_a: 1, dev_b: 0 }, {}, 'dev_a')).toBeUndefined()
    expect(isPulseError(claimError({ dev_a: 1, server: 1 }, {}, 'dev_a'))).toBe(true)
  })

  it('order an edit that does not advance the device\u2019s entry as already included (stale)', () => {
    expect(orderOfEdit({ dev_a: 2 }, { dev_a: 2, server: 1 }, 'dev_a')).toBe('BEFORE')
    expect(orderOfEdit({ dev_a: 3 }, { dev_a: 2, server: 1 }, 'dev_a')).toBe('CONCURRENT')
    expect(orderOfEdit({ dev_a: 3, server: 1 }, { dev_a: 2, server: 1 }, 'dev_a')).toBe('AFTER')
  })
})
