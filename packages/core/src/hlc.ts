/**
 * Hybrid logical clock for the `at` of mutations (PROTOCOL.md §4): physical time in
 * milliseconds plus a logical counter, so that every local event gets a timestamp larger than
 * any it has seen, even when the wall clock stands still or goes backwards.
 *
 * Encoding: an `at` stays a valid ISO-8601 UTC date-time. Its fraction of a second has six
 * digits: the first three are the milliseconds of the wall time, the last three the logical
 * counter (0–999), e.g. `2026-11-23T10:00:00.000000Z` (counter 0) and
 * `2026-11-23T10:00:00.000007Z` (counter 7). Read as a date-time it is the wall time plus
 * `counter` microseconds, so it survives a microsecond column (PostgreSQL `timestamptz`) and
 * the canonical strings, all of one length, compare lexicographically in HLC order. When the
 * counter would pass 999 within one millisecond, the clock moves on to the next millisecond
 * with counter 0 (the HLC runs at most 1 ms ahead per 1,000 events in one millisecond).
 */

/** An HLC timestamp, decoded: wall time in ms since the epoch and the logical counter. */
export interface HlcTimestamp {
  readonly wallMs: number
  readonly counter: number
}

/** The counter's largest value; one more carries into the next millisecond. */
export const HLC_MAX_COUNTER = 999
// 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the four-digit years ISO strings keep.
const MIN_WALL_MS = -62_135_596_800_000
const MAX_WALL_MS = 253_402_300_799_999

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/

/**
 * Decodes an `at`: any ISO-8601 date-time with a zone (`Z` or `±hh:mm`), not only the
 * canonical form. Fraction digits 1–3 are milliseconds, 4–6 the counter, later ones are
 * ignored; a plain `…:00.000Z` has counter 0. Returns `undefined` for anything else, including
 * impossible dates (`2026-02-30`) and years outside 0001–9999.
 */
export function parseHlc(at: string): HlcTimestamp | undefined {
  const cached = decoded.get(at)
  if (cached !== undefined) return cached
  const result = decodeHlc(at)
  // Only timestamps are kept, at most MAX_DECODED of them (about 100 KB), frozen: callers share them.
  if (result && at.length <= MAX_CACHED_LENGTH) {
    if (decoded.size >= MAX_DECODED) decoded.clear()
    decoded.set(at, Object.freeze(result))
  }
  return result
}

/**
 * Recently decoded `at` values: a write decodes each mutation's `at` several times (checked,
 * clamped, compared per contested field), which was a tenth of a push's CPU time.
 */
const decoded = new Map<string, HlcTimestamp>()
const MAX_DECODED = 1024
/** Longer than any ISO date-time with nine fraction digits and an offset. */
const MAX_CACHED_LENGTH = 40

function decodeHlc(at: string): HlcTimestamp | undefined {
  const m = ISO.exec(at)
  if (!m) return undefined
  const [, minutes = '', seconds = '00', fraction = '', zone = 'Z', sign, offsetH = '00', offsetM = '00'] = m
  const local = `${minutes}:${seconds}.${fraction.slice(0, 3).padEnd(3, '0')}`
  const wallMs = Date.parse(`${local}${zone}`)
  if (Number.isNaN(wallMs) || wallMs < MIN_WALL_MS || wallMs > MAX_WALL_MS) return undefined
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(offsetH) * 60 + Number(offsetM)) * 60_000
  // Date.parse rolls `02-30` over to March and reads `24:00`; a round trip refuses both.
  if (Number(offsetM) > 59 || new Date(wallMs + offsetMs).toISOString().slice(0, 23) !== local) return undefined
  return { wallMs, counter: Number(fraction.slice(3, 6).padEnd(3, '0')) }
}

/**
 * Encodes a timestamp in the canonical form `YYYY-MM-DDTHH:mm:ss.mmmcccZ`. Throws a
 * RangeError when the wall time is not an integer in years 0001–9999 or the counter is not an
 * integer in 0–999.
 */
export function formatHlc(timestamp: HlcTimestamp): string {
  const { wallMs, counter } = timestamp
  if (!Number.isInteger(wallMs) || wallMs < MIN_WALL_MS || wallMs > MAX_WALL_MS) {
    throw new RangeError(`HLC wall time ${wallMs} is outside years 0001-9999`)
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > HLC_MAX_COUNTER) {
    throw new RangeError(`HLC counter ${counter} is outside 0-${HLC_MAX_COUNTER}`)
  }
  return `${new Date(wallMs).toISOString().slice(0, 23)}${String(counter).padStart(3, '0')}Z`
}

/**
 * Orders two `at` values in HLC order: -1, 0 or 1. Any ISO form is accepted (see
 * `parseHlc`); for canonical strings the result equals plain string comparison. A value that
 * is not a timestamp sorts before every timestamp, and two such values by code unit, so the
 * order stays total and last-writer-wins stays deterministic.
 */
export function compareHlc(a: string, b: string): -1 | 0 | 1 {
  const x = parseHlc(a)
  const y = parseHlc(b)
  if (x && y) return sign(x.wallMs - y.wallMs || x.counter - y.counter)
  if (x) return 1
  if (y) return -1
  return a < b ? -1 : a > b ? 1 : 0
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0
}

/**
 * The server's guard against a device with a wrong clock (§4): an `at` later than `limit` (the
 * server's current HLC time) becomes `limit`, so an edit stamped in the future can never beat
 * an edit made after it reached the server; any other `at` is returned in canonical form.
 * Throws a RangeError when `at` or `limit` is not a timestamp.
 */
export function clampAt(at: string, limit: string): string {
  const parsed = parseHlc(at)
  if (!parsed) throw new RangeError(`"${at.slice(0, 40)}" is not an ISO-8601 timestamp`)
  const bound = parseHlc(limit)
  if (!bound) throw new RangeError(`"${limit.slice(0, 40)}" is not an ISO-8601 timestamp`)
  const later = parsed.wallMs > bound.wallMs || (parsed.wallMs === bound.wallMs && parsed.counter > bound.counter)
  return formatHlc(later ? bound : parsed)
}

/** A hybrid logical clock of one device or server. */
export interface Hlc {
  /** The timestamp of a local event (an edit): larger than every timestamp this clock issued or received. */
  tick(): string
  /**
   * Takes in a timestamp seen from elsewhere (a pulled record, a pushed mutation) and returns
   * the timestamp of receiving it: larger than `remoteAt` and than everything before.
   * Throws a RangeError when `remoteAt` is not a timestamp.
   */
  receive(remoteAt: string): string
  /** The last timestamp issued, to persist across restarts; `undefined` before the first. */
  current(): string | undefined
}

/**
 * Creates a clock reading physical time from `now` (ms since the epoch). Pass the `last`
 * timestamp a previous run persisted, so the clock never goes back across a restart even when
 * the wall clock did.
 */
export function createHlc(now: () => number = Date.now, last?: string): Hlc {
  let state: HlcTimestamp | undefined = last === undefined ? undefined : parseHlc(last)
  if (last !== undefined && !state) throw new RangeError(`"${last.slice(0, 40)}" is not an ISO-8601 timestamp`)

  const issue = (wallMs: number, counter: number): string => {
    // Too many events in one millisecond: carry into the next, which keeps the order strict.
    const next = counter > HLC_MAX_COUNTER ? { wallMs: wallMs + 1, counter: 0 } : { wallMs, counter }
    // Format before keeping it: a wall time out of range throws and leaves the state as it was.
    const text = formatHlc(next)
    state = next
    return text
  }
  const physical = (): number => {
    const t = Math.floor(now())
    // A broken clock (NaN) must not poison the state: fall back to the logical part.
    return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY
  }

  return {
    tick(): string {
      const pt = physical()
      if (state === undefined || pt > state.wallMs) return issue(pt, 0)
      return issue(state.wallMs, state.counter + 1)
    },
    receive(remoteAt: string): string {
      const remote = parseHlc(remoteAt)
      if (!remote) throw new RangeError(`"${remoteAt.slice(0, 40)}" is not an ISO-8601 timestamp`)
      const pt = physical()
      const local = state ?? remote
      const wallMs = Math.max(pt, local.wallMs, remote.wallMs)
      if (wallMs === local.wallMs && wallMs === remote.wallMs) return issue(wallMs, Math.max(local.counter, remote.counter) + 1)
      if (wallMs === local.wallMs) return issue(wallMs, local.counter + 1)
      if (wallMs === remote.wallMs) return issue(wallMs, remote.counter + 1)
      return issue(wallMs, 0)
    },
    current(): string | undefined {
      return state === undefined ? undefined : formatHlc(state)
    },
  }
}
