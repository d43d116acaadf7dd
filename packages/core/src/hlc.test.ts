import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clampAt, compareHlc, createHlc, formatHlc, HLC_MAX_COUNTER, type HlcTimestamp, parseHlc } from './hlc.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 300 })

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0)
// Wall times near T0 so that collisions of milliseconds are frequent.
const wallMs = fc.integer({ min: T0 - 5, max: T0 + 5 })
const timestamp: fc.Arbitrary<HlcTimestamp> = fc.record({ wallMs, counter: fc.integer({ min: 0, max: HLC_MAX_COUNTER }) })
const canonical = timestamp.map(formatHlc)

/** A wall clock that replays `readings` (which may go backwards), then stays on the last. */
function scriptedClock(readings: readonly number[]): () => number {
  let i = 0
  return () => readings[Math.min(i++, readings.length - 1)] ?? T0
}

describe('encoding', () => {
  it('is an ISO-8601 UTC string with the counter in the 4th-6th fraction digits', () => {
    expect(formatHlc({ wallMs: T0, counter: 0 })).toBe('2026-11-23T10:00:00.000000Z')
    expect(formatHlc({ wallMs: T0 + 123, counter: 7 })).toBe('2026-11-23T10:00:00.123007Z')
    expect(Date.parse(formatHlc({ wallMs: T0 + 123, counter: 7 }))).toBe(T0 + 123)
  })

  it('round-trips', () => {
    fc.assert(
      fc.property(timestamp, (t) => {
        expect(parseHlc(formatHlc(t))).toEqual(t)
      }),
    )
  })

  it('reads other ISO forms: plain milliseconds, offsets, fewer or more digits', () => {
    expect(parseHlc('2026-11-23T10:00:00.000Z')).toEqual({ wallMs: T0, counter: 0 })
    expect(parseHlc('2026-11-23T10:00:00Z')).toEqual({ wallMs: T0, counter: 0 })
    expect(parseHlc('2026-11-23T10:00Z')).toEqual({ wallMs: T0, counter: 0 })
    expect(parseHlc('2026-11-23T10:00:00.5Z')).toEqual({ wallMs: T0 + 500, counter: 0 })
    expect(parseHlc('2026-11-23T11:00:00.000042+01:00')).toEqual({ wallMs: T0, counter: 42 })
    expect(parseHlc('2026-11-23T10:00:00.001002999Z')).toEqual({ wallMs: T0 + 1, counter: 2 })
  })

  it.each([
    'not a date',
    '',
    '2026-11-23',
    '2026-11-23T10:00:00',
    '2026-02-30T10:00:00.000Z',
    '2026-11-23T24:00:00.000Z',
    '2026-11-23T10:60:00.000Z',
    '2026-11-23T10:00:00.000+01:75',
    '2026-11-23T10:00:00.0000000000Z',
    '+02026-11-23T10:00:00.000Z',
  ])('refuses %j', (text) => {
    expect(parseHlc(text)).toBeUndefined()
  })

  it('refuses to format out-of-range parts', () => {
    expect(() => formatHlc({ wallMs: T0, counter: 1000 })).toThrow(RangeError)
    expect(() => formatHlc({ wallMs: T0, counter: -1 })).toThrow(RangeError)
    expect(() => formatHlc({ wallMs: T0 + 0.5, counter: 0 })).toThrow(RangeError)
    expect(() => formatHlc({ wallMs: 253_402_300_800_000, counter: 0 })).toThrow(RangeError)
  })
})

describe('compareHlc', () => {
  it('agrees with string order on canonical strings, and with (wallMs, counter) order', () => {
    fc.assert(
      fc.property(timestamp, timestamp, (a, b) => {
        const byParts = Math.sign(a.wallMs - b.wallMs || a.counter - b.counter)
        const x = formatHlc(a)
        const y = formatHlc(b)
        expect(compareHlc(x, y)).toBe(byParts)
        expect(Math.sign(x < y ? -1 : x > y ? 1 : 0)).toBe(byParts)
      }),
    )
  })

  it('compares across ISO forms', () => {
    expect(compareHlc('2026-11-23T10:00:00.000Z', '2026-11-23T10:00:00.000000Z')).toBe(0)
    expect(compareHlc('2026-11-23T10:00:00.000Z', '2026-11-23T10:00:00.000001Z')).toBe(-1)
    expect(compareHlc('2026-11-23T11:00:00.000+01:00', '2026-11-23T10:00:00.000Z')).toBe(0)
  })

  it('puts non-timestamps before every timestamp, deterministically', () => {
    expect(compareHlc('garbage', '2026-11-23T10:00:00.000Z')).toBe(-1)
    expect(compareHlc('2026-11-23T10:00:00.000Z', 'garbage')).toBe(1)
    expect(compareHlc('a', 'b')).toBe(-1)
    expect(compareHlc('b', 'b')).toBe(0)
  })
})

describe('clampAt', () => {
  const limit = formatHlc({ wallMs: T0, counter: 5 })

  it('clamps an at later than the server\u2019s HLC time to that time, however far ahead', () => {
    expect(clampAt('2026-11-23T10:00:00.001Z', limit)).toBe(limit)
    expect(clampAt('2026-11-23T10:00:00.000006Z', limit)).toBe(limit)
    expect(clampAt('2027-11-23T10:00:00.000Z', limit)).toBe(limit)
    expect(clampAt('9999-12-31T23:59:59.999999Z', limit)).toBe(limit)
  })

  it('keeps (in canonical form) an at at or before the limit', () => {
    expect(clampAt('2026-11-23T10:00:00.000005Z', limit)).toBe('2026-11-23T10:00:00.000005Z')
    expect(clampAt('2026-11-23T10:00:00.000Z', limit)).toBe('2026-11-23T10:00:00.000000Z')
    expect(clampAt('2020-01-01T01:00:00+01:00', limit)).toBe('2020-01-01T00:00:00.000000Z')
  })

  it('never returns a time past the limit, and never moves a time that is within it', () => {
    fc.assert(
      fc.property(canonical, canonical, (at, bound) => {
        const clamped = clampAt(at, bound)
        expect(compareHlc(clamped, bound)).toBeLessThanOrEqual(0)
        if (compareHlc(at, bound) <= 0) expect(clamped).toBe(at)
        else expect(clamped).toBe(bound)
      }),
    )
  })

  it('throws on a non-timestamp', () => {
    expect(() => clampAt('yesterday', limit)).toThrow(RangeError)
    expect(() => clampAt(limit, 'now')).toThrow(RangeError)
  })
})

describe('createHlc', () => {
  it('follows the wall clock when it moves forward', () => {
    const hlc = createHlc(scriptedClock([T0, T0 + 5]))
    expect(hlc.current()).toBeUndefined()
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000000Z')
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.005000Z')
    expect(hlc.current()).toBe('2026-11-23T10:00:00.005000Z')
  })

  it('counts up while the wall clock stands still or goes back', () => {
    const hlc = createHlc(scriptedClock([T0, T0, T0 - 1000]))
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000000Z')
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000001Z')
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000002Z')
  })

  it('carries into the next millisecond after 999 events in one', () => {
    const hlc = createHlc(() => T0)
    let last = ''
    for (let i = 0; i <= HLC_MAX_COUNTER; i++) last = hlc.tick()
    expect(last).toBe('2026-11-23T10:00:00.000999Z')
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.001000Z')
  })

  it('resumes after the persisted last timestamp even when the wall clock is behind it', () => {
    const hlc = createHlc(() => T0, '2026-11-23T10:05:00.000003Z')
    expect(hlc.tick()).toBe('2026-11-23T10:05:00.000004Z')
    expect(() => createHlc(() => T0, 'nonsense')).toThrow(RangeError)
  })

  it('survives a broken wall clock once it has a state, and keeps its state when a tick fails', () => {
    const hlc = createHlc(scriptedClock([T0, Number.NaN, 1e20, T0]))
    hlc.tick()
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000001Z')
    expect(() => hlc.tick()).toThrow(RangeError)
    expect(hlc.tick()).toBe('2026-11-23T10:00:00.000002Z')
  })

  it('receive moves past a remote timestamp ahead of it', () => {
    const hlc = createHlc(() => T0)
    hlc.tick()
    expect(hlc.receive('2026-11-23T10:00:01.000005Z')).toBe('2026-11-23T10:00:01.000006Z')
    expect(hlc.tick()).toBe('2026-11-23T10:00:01.000007Z')
    expect(() => hlc.receive('soon')).toThrow(RangeError)
  })

  it('tick is strictly increasing whatever the wall clock does', () => {
    fc.assert(
      fc.property(fc.array(wallMs, { minLength: 1, maxLength: 60 }), (readings) => {
        const hlc = createHlc(scriptedClock(readings))
        let previous = hlc.tick()
        for (let i = 1; i < readings.length; i++) {
          const next = hlc.tick()
          expect(compareHlc(next, previous)).toBe(1)
          expect(next > previous).toBe(true)
          previous = next
        }
      }),
    )
  })

  it('is never behind the wall clock', () => {
    fc.assert(
      fc.property(fc.array(wallMs, { minLength: 1, maxLength: 30 }), (readings) => {
        let current = T0
        const hlc = createHlc(() => current)
        for (const r of readings) {
          current = r
          expect(parseHlc(hlc.tick())?.wallMs).toBeGreaterThanOrEqual(r)
        }
      }),
    )
  })

  it('receive yields a value greater than the local previous and the remote, and ticks stay monotonic after it', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), wall: wallMs }),
      fc.record({ kind: fc.constant('receive' as const), wall: wallMs, remote: canonical }),
    )
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (events) => {
        let current = T0
        const hlc = createHlc(() => current)
        let previous: string | undefined
        for (const e of events) {
          current = e.wall
          const next = e.kind === 'tick' ? hlc.tick() : hlc.receive(e.remote)
          if (previous !== undefined) expect(compareHlc(next, previous)).toBe(1)
          if (e.kind === 'receive') expect(compareHlc(next, e.remote)).toBe(1)
          expect(hlc.current()).toBe(next)
          previous = next
        }
      }),
    )
  })
})
