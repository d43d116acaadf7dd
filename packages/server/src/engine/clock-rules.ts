/**
 * Who moves which entry of a record's vector clock (PROTOCOL.md §1, §4, §5). Pure functions the
 * write path applies to every change:
 *
 * - a device's entry counts the changes the server accepted from that device's pushes, and
 *   moves only with them, by one per change;
 * - every other write (REST, conflict resolutions, the system) moves the `server` entry, by one
 *   per change, whoever makes it; so a device's edit made
 *   before such a write compares CONCURRENT with it and its fields are settled by their
 *   policies (§5), never taken for a stale replay;
 * - a pushed mutation's clock is a claim, checked before it is used: every entry but the
 *   device's own must be at most the record's (`clock_ahead` otherwise), and the device's own
 *   entry only says whether the edit is new (greater than the record's). No entry of a
 *   mutation is ever stored, so no input can push an entry towards the end of the safe range.
 */
import { type ClockOrder, compareClocks, MAX_CLOCK_ENTRIES, PulseError, type VectorClock } from '@pulse/core'

/** The clock entry of every write that is not a device's push. No device may push as it. */
export const SERVER_CLOCK_ID = 'server'

/**
 * Refuses a pushed clock that counts changes the server never saw for this record: an entry
 * other than the device's own that is larger than the record's (a missing entry counts as 0,
 * so a create of a new record may name only its own device). Throws `clock_ahead`.
 */
export function checkClockClaim(sent: Readonly<VectorClock>, stored: Readonly<VectorClock>, deviceId: string): void {
  for (const key of Object.keys(sent)) {
    if (key === deviceId) continue
    const have = Object.hasOwn(stored, key) ? (stored[key] ?? 0) : 0
    if ((sent[key] ?? 0) > have) {
      throw new PulseError(
        'clock_ahead',
        `the vclock counts ${sent[key]} changes of "${key.slice(0, 64)}" on this record; the server has seen ${have}`,
        [{ field: 'vclock', code: 'ahead_of_server', message: `entry "${key.slice(0, 64)}" is ahead of the record's` }],
      )
    }
  }
}

/**
 * §5 causality of a pushed mutation against the record, after `checkClockClaim`: EQUAL or
 * BEFORE (the device's entry is not past the record's) means the record already includes the
 * edit; AFTER means the edit was made on the record's current state; CONCURRENT means the
 * record changed since in a way the edit did not see.
 */
export function orderOfEdit(sent: Readonly<VectorClock>, stored: Readonly<VectorClock>, deviceId: string): ClockOrder {
  checkClockClaim(sent, stored, deviceId)
  return compareClocks(sent, stored)
}

/**
 * Most entries a record's stored clock holds: one less than a pushed clock may hold
 * (`MAX_CLOCK_ENTRIES`), so a device pushing its first edit of a full record (the record's
 * clock and its own new entry) is refused by the write path, that mutation alone, never its
 * whole push by the parser. The `server` entry always has its place: devices fill one less.
 */
export const MAX_STORED_CLOCK_ENTRIES = MAX_CLOCK_ENTRIES - 1

/**
 * The record's clock after one accepted change by `writer` (a device id, or `SERVER_CLOCK_ID`):
 * a copy with that entry one larger, keys sorted. An entry already at the end of the safe range
 * (only a clock stored before these rules could hold one) stays there rather than failing the
 * write. A device new to a record whose clock is full is refused (`validation_failed` on
 * `vclock`): its edit is reported, and writes through REST (the `server` entry) still go.
 */
export function advanceClock(stored: Readonly<VectorClock>, writer: string): VectorClock {
  const current = Object.hasOwn(stored, writer) ? (stored[writer] ?? 0) : 0
  const next = current < Number.MAX_SAFE_INTEGER ? current + 1 : current
  const entries = Object.entries(stored).filter(([key, value]) => key !== writer && value > 0)
  if (current === 0 && writer !== SERVER_CLOCK_ID) {
    const room = (stored[SERVER_CLOCK_ID] ?? 0) > 0 ? MAX_STORED_CLOCK_ENTRIES : MAX_STORED_CLOCK_ENTRIES - 1
    if (entries.length + 1 > room) {
      const message = `${entries.length} devices and the server have edited this record, the most its clock can count: edit it from a device that has, or through the REST API`
      throw new PulseError('validation_failed', message, [{ field: 'vclock', code: 'clock_full', message }])
    }
  }
  entries.push([writer, next])
  // Object.fromEntries defines own properties, so even a stored `__proto__` key stays data.
  return Object.fromEntries(entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
}
