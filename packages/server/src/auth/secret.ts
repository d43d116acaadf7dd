/**
 * The key that signs access tokens. `PULSE_SECRET` in production (required); in development,
 * generated on first start and kept in `.pulse/secret` (mode 0600) so tokens survive restarts.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The shortest PULSE_SECRET accepted, in characters. */
export const MIN_SECRET_LENGTH = 32

/** Thrown when no usable secret can be had; its message says what to set. */
export class SecretError extends Error {
  override readonly name = 'SecretError'
}

/** Where the secret comes from. */
export interface SecretOptions {
  /** The configured secret (PULSE_SECRET), if any. */
  secret?: string | undefined
  /** Production refuses to generate one. */
  production: boolean
  /** Where a development secret is kept. */
  file: string
}

/** Resolves the signing key as bytes. */
export function resolveSecret(options: SecretOptions): Uint8Array {
  if (options.secret !== undefined && options.secret !== '') {
    if (options.secret.length < MIN_SECRET_LENGTH) throw new SecretError(`PULSE_SECRET must be at least ${MIN_SECRET_LENGTH} characters`)
    return new TextEncoder().encode(options.secret)
  }
  if (options.production) {
    throw new SecretError('PULSE_SECRET is required in production (NODE_ENV=production): set it to a random string of 32+ characters')
  }
  if (existsSync(options.file)) {
    const stored = readFileSync(options.file, 'utf8').trim()
    if (stored.length >= MIN_SECRET_LENGTH) return new TextEncoder().encode(stored)
  }
  const generated = randomBytes(48).toString('base64url')
  mkdirSync(dirname(options.file), { recursive: true })
  writeFileSync(options.file, `${generated}\n`, { mode: 0o600 })
  chmodSync(options.file, 0o600)
  return new TextEncoder().encode(generated)
}
