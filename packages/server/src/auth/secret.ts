/**
 * The key that signs access tokens. `PULSE_SECRET` in production (required, and refused when
 * weak); in development, generated on first start and kept in `.pulse/secret` (mode 0600) so
 * tokens survive restarts.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The shortest PULSE_SECRET accepted, in characters. */
export const MIN_SECRET_LENGTH = 32

/** Fewest distinct characters a production secret may have. */
export const MIN_SECRET_DISTINCT_CHARACTERS = 8
/** Least entropy a production secret may show, in bits (see `estimateSecretBits`). */
export const MIN_SECRET_BITS = 80

/**
 * A secret's entropy as its characters show it: length × the Shannon entropy of its character
 * frequencies. 32 `a`s show 0 bits, `abab…` 1 bit a character; a random 32-character hex string
 * about 120, a random base64 one of 64 characters about 350. It cannot see a secret that is
 * guessable for other reasons (a phrase from a book), so it only stops the obvious ones.
 */
export function estimateSecretBits(secret: string): number {
  const chars = [...secret]
  const counts = new Map<string, number>()
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1)
  let perCharacter = 0
  for (const n of counts.values()) {
    const p = n / chars.length
    perCharacter -= p * Math.log2(p)
  }
  return perCharacter * chars.length
}

/** True when `text` is a shorter string repeated (`abcabcabc…`). */
function isRepetition(text: string): boolean {
  for (let period = 1; period <= text.length / 2; period++) {
    let repeats = true
    for (let i = period; i < text.length && repeats; i++) repeats = text[i] === text[i - period]
    if (repeats) return true
  }
  return false
}

/** True when most neighbouring characters are consecutive (`abcdef…`, `0123…`, `zyx…`). */
function isMostlySequential(text: string): boolean {
  let steps = 0
  for (let i = 1; i < text.length; i++) if (Math.abs(text.charCodeAt(i) - text.charCodeAt(i - 1)) === 1) steps += 1
  return steps > (text.length - 1) / 2
}

/**
 * Why a configured secret is too weak for production, or undefined when it will do: at least
 * 32 characters, 8 distinct ones, 80 bits by `estimateSecretBits`, not a short string repeated,
 * not mostly a run of consecutive characters.
 */
export function weakSecretReason(secret: string): string | undefined {
  if (secret.length < MIN_SECRET_LENGTH) return `it must be at least ${MIN_SECRET_LENGTH} characters`
  if (new Set(secret).size < MIN_SECRET_DISTINCT_CHARACTERS)
    return `it has fewer than ${MIN_SECRET_DISTINCT_CHARACTERS} distinct characters`
  if (estimateSecretBits(secret) < MIN_SECRET_BITS || isRepetition(secret)) return 'it repeats itself too much to be random'
  if (isMostlySequential(secret)) return 'it is mostly a run of consecutive characters'
  return undefined
}

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
    // Production refuses a secret anyone could guess (32 `a`s): tokens signed with it are forgeable.
    const weak = options.production ? weakSecretReason(options.secret) : undefined
    if (weak) throw new SecretError(`PULSE_SECRET is too weak for production: ${weak}; use e.g. \`openssl rand -base64 48\``)
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
