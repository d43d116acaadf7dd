/**
 * Sync cursors (PROTOCOL.md §2): opaque to clients, a position in the server's change order
 * to the server. Encoded as `c1.<position in base 36>` so that a client cannot mistake one for
 * a number and a later format can be told apart by its prefix.
 */
import { PulseError } from './errors.ts'

const CURSOR = /^c1\.([0-9a-z]{1,11})$/

/** The cursor for a position in the change order. */
export function encodeCursor(position: number): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`a cursor position is a non-negative integer, got ${position}`)
  return `c1.${position.toString(36)}`
}

/** The position a cursor stands for; `null` (no cursor) is 0. Throws `bad_request` for a forged one. */
export function decodeCursor(cursor: string | null | undefined): number {
  if (cursor === null || cursor === undefined || cursor === '') return 0
  const m = CURSOR.exec(cursor)
  const position = m ? Number.parseInt(m[1] as string, 36) : Number.NaN
  if (!Number.isSafeInteger(position)) throw new PulseError('bad_request', 'not a cursor this server handed out; pull from no cursor')
  return position
}
