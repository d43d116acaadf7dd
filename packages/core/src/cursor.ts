/**
 * Sync cursors (PROTOCOL.md §2): opaque to clients, to the server a position in its change
 * order plus the scope epoch of the user it was issued to (§8: a membership change raises the
 * epoch, and a cursor from before it answers `scope_changed`). Encoded as `c1.<position>` or
 * `c1.<position>.<epoch>`, both in base 36, so a later format can be told apart by its prefix.
 */
import { PulseError } from './errors.ts'

const CURSOR = /^c1\.([0-9a-z]{1,11})(?:\.([0-9a-z]{1,11}))?$/

/** What a cursor stands for. */
export interface CursorPosition {
  position: number
  epoch: number
}

/** The cursor for a position in the change order (and the scope epoch it was issued under). */
export function encodeCursor(position: number, epoch = 0): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`a cursor position is a non-negative integer, got ${position}`)
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`a scope epoch is a non-negative integer, got ${epoch}`)
  return epoch === 0 ? `c1.${position.toString(36)}` : `c1.${position.toString(36)}.${epoch.toString(36)}`
}

/** The position a cursor stands for; `null` (no cursor) is 0. Throws `bad_request` for a forged one. */
export function decodeCursor(cursor: string | null | undefined): number {
  return decodeCursorParts(cursor).position
}

/** Position and scope epoch of a cursor; `null` (no cursor) is position 0. Throws `bad_request` for a forged one. */
export function decodeCursorParts(cursor: string | null | undefined): CursorPosition {
  if (cursor === null || cursor === undefined || cursor === '') return { position: 0, epoch: 0 }
  const m = CURSOR.exec(cursor)
  const position = m ? Number.parseInt(m[1] as string, 36) : Number.NaN
  const epoch = m?.[2] ? Number.parseInt(m[2], 36) : 0
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(epoch)) {
    throw new PulseError('bad_request', 'not a cursor this server handed out; pull from no cursor')
  }
  return { position, epoch }
}
