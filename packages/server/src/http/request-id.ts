/** Request ids (PROTOCOL.md §7): the caller's when well-formed, a new UUIDv7 otherwise. */
import type { IncomingMessage } from 'node:http'
import { uuidv7 } from '@pulse/core'

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/

/** The id for a request: its `x-request-id` header if well-formed, else a fresh one. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && WELL_FORMED.test(given) ? given : uuidv7()
}
