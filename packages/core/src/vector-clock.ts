/**
 * Version vectors (PROTOCOL.md §1 `vclock`, §5 causality): how many changes of each device a
 * record state includes. Pure functions over plain objects; a missing entry counts as 0.
 */

/** A version vector: device id to the number of that device's changes included. */
export type VectorClock = Record<string, number>

/** How two clocks relate (§5): the first happened before, after, at the same point as, or concurrently with the second. */
export type ClockOrder = 'EQUAL' | 'BEFORE' | 'AFTER' | 'CONCURRENT'

/** Most entries a clock may hold. */
export const MAX_CLOCK_ENTRIES = 1_000
/** Longest device id a clock may name, in characters. */
export const MAX_CLOCK_KEY_LENGTH = 128

// Keys that would reach an object's prototype when assigned with `clock[key] = …`.
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Compares two clocks entry by entry, a missing entry counting as 0. `BEFORE` means `a`
 * happened before `b` (every entry of `a` ≤ `b`'s, one strictly less); `AFTER` the reverse;
 * `CONCURRENT` when each has an entry larger than the other's.
 */
export function compareClocks(a: Readonly<VectorClock>, b: Readonly<VectorClock>): ClockOrder {
  let aAhead = false
  let bAhead = false
  for (const key of Object.keys(a)) {
    const av = a[key] ?? 0
    const bv = Object.hasOwn(b, key) ? (b[key] ?? 0) : 0
    if (av > bv) aAhead = true
    else if (av < bv) bAhead = true
  }
  for (const key of Object.keys(b)) {
    if (Object.hasOwn(a, key)) continue
    if ((b[key] ?? 0) > 0) bAhead = true
  }
  if (aAhead && bAhead) return 'CONCURRENT'
  if (aAhead) return 'AFTER'
  if (bAhead) return 'BEFORE'
  return 'EQUAL'
}

/**
 * The least clock that includes both: the pointwise maximum. Zero entries are dropped and
 * keys come out sorted, so equal clocks serialise to equal JSON. The inputs are not changed.
 */
export function mergeClocks(a: Readonly<VectorClock>, b: Readonly<VectorClock>): VectorClock {
  const merged = new Map<string, number>()
  for (const clock of [a, b]) {
    for (const key of Object.keys(clock)) {
      const value = clock[key] ?? 0
      if (value > (merged.get(key) ?? 0)) merged.set(key, value)
    }
  }
  // Object.fromEntries defines own properties, so even an unvalidated `__proto__` key stays data.
  return Object.fromEntries([...merged].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
}

/**
 * The clock after one more change by `deviceId`: a copy of `clock` with that entry + 1.
 * Throws a RangeError for a device id `isValidClock` would refuse or a counter past
 * `Number.MAX_SAFE_INTEGER`.
 */
export function incrementClock(clock: Readonly<VectorClock>, deviceId: string): VectorClock {
  if (!isValidKey(deviceId)) throw new RangeError(`"${deviceId.slice(0, 40)}" is not a valid device id for a vector clock`)
  const next = (Object.hasOwn(clock, deviceId) ? (clock[deviceId] ?? 0) : 0) + 1
  if (!Number.isSafeInteger(next)) throw new RangeError(`the clock entry of "${deviceId}" would pass the safe integer range`)
  return mergeClocks(clock, Object.fromEntries([[deviceId, next]]))
}

function isValidKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_CLOCK_KEY_LENGTH && !FORBIDDEN_KEYS.has(key)
}

/**
 * True when `value` is a well-formed clock as it may arrive on the wire: a plain object (not
 * an array, not a class instance) of at most 1,000 entries, each key a non-empty string of at
 * most 128 characters other than `__proto__`, `constructor` or `prototype`, each value a safe
 * non-negative integer.
 */
export function isValidClock(value: unknown): value is VectorClock {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  // Symbol keys and non-enumerable properties have no place in a JSON clock.
  if (Object.getOwnPropertySymbols(value).length > 0) return false
  const keys = Object.getOwnPropertyNames(value)
  if (keys.length > MAX_CLOCK_ENTRIES) return false
  const record = value as Record<string, unknown>
  for (const key of keys) {
    if (!isValidKey(key)) return false
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if (!descriptor?.enumerable || !('value' in descriptor)) return false
    const v = record[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return false
  }
  return true
}
