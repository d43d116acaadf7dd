/** Opaque secrets (refresh tokens, API tokens): random, shown once, stored only as a hash. */
import { createHash, randomBytes } from 'node:crypto'

/** A new token with a readable prefix (`prt_` refresh, `pat_` API), 256 random bits. */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`
}

/** The stored form of a token: SHA-256, hex. High-entropy tokens need no slow hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
