/**
 * The password policy (PROTOCOL.md §9), the same in every mode: 8 to 256 characters, not only
 * whitespace, not the username, and not one of the 5,000 most common passwords (a list kept in
 * `common-passwords.txt` beside this file, read once, never fetched). Applied when a password is
 * set (sign-up, `pulse createuser`); logins check only the hash.
 */
import { readFileSync } from 'node:fs'
import { PulseError } from '@pulse/core'
import { isWellFormedText } from './well-formed-text.ts'

/** Password length bounds, in characters (code points). */
export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 256

let common: ReadonlySet<string> | undefined

/** The common-password list, lower-cased; loaded on first use (about 5,000 entries, ~0.4 MB). */
export function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    common = new Set(
      text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.toLowerCase()),
    )
  }
  return common
}

function refuse(code: string, message: string): PulseError {
  return new PulseError('validation_failed', `password: ${message}`, [{ field: 'password', code, message }])
}

/**
 * Returns the password when it meets the policy; throws `validation_failed` (422) saying which
 * rule it breaks otherwise. A password that is not well-formed Unicode (a lone surrogate, which
 * would hash like U+FFFD) or holds a NUL is refused too.
 */
export function checkPasswordPolicy(password: unknown, username?: string): string {
  if (typeof password !== 'string') throw refuse('wrong_type', 'a string')
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
    throw refuse('invalid_password', `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`)
  if (!isWellFormedText(password)) throw refuse('invalid_password', 'not well-formed text')
  if (password.trim() === '') throw refuse('invalid_password', 'more than whitespace')
  const lower = password.toLowerCase()
  if (username !== undefined && lower === username.toLowerCase()) throw refuse('weak_password', 'not your username')
  if (commonPasswords().has(lower)) throw refuse('weak_password', 'one of the most common passwords: choose another')
  return password
}
