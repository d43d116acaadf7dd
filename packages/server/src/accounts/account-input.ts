/**
 * Checking what callers send to the account routes (PROTOCOL.md §9): usernames, emails, names of
 * devices, organizations and tokens. Every refusal is `validation_failed` (422) naming the field;
 * text that a database cannot store as given (a NUL, a lone surrogate) is refused here, before
 * it reaches a query.
 */
import { PulseError } from '@pulse/core'
import { isWellFormedText } from '../auth/well-formed-text.ts'

const USERNAME = /^[A-Za-z0-9_.@-]{3,64}$/
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/
const DEVICE_ID = /^dev_[A-Za-z0-9_-]{1,64}$/

/** A `validation_failed` error about one field. */
export function invalid(field: string, code: string, message: string): PulseError {
  return new PulseError('validation_failed', `${field}: ${message}`, [{ field, code, message }])
}

/** A string of 1 to `max` characters of well-formed text, or `validation_failed`. */
export function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw invalid(field, 'wrong_type', `a string of 1 to ${max} characters`)
  if (!isWellFormedText(value)) throw invalid(field, 'invalid_text', 'holds a NUL or a lone surrogate')
  return value
}

/** A name shown to people (device, organization, token): well-formed text, not only whitespace. */
export function displayName(value: unknown, field: string, max: number): string {
  const name = text(value, field, max)
  if (name.trim() === '') throw invalid(field, 'blank', 'more than whitespace')
  return name
}

/** A username: 3 to 64 letters, digits or `_.@-` (compared case-insensitively). */
export function username(value: unknown, field = 'username'): string {
  const name = text(value, field, 64)
  if (!USERNAME.test(name)) throw invalid(field, 'invalid_username', '3-64 letters, digits or _.@-')
  return name
}

/** True when `value` could be a username (a login with anything else fails like a wrong password). */
export function isUsername(value: unknown): value is string {
  return typeof value === 'string' && USERNAME.test(value)
}

/** An optional email address. */
export function email(value: unknown): string | null {
  if (value === undefined || value === null) return null
  const address = text(value, 'email', 320)
  if (!EMAIL.test(address)) throw invalid('email', 'invalid_email', 'an email address')
  return address
}

/** True when `value` has the shape of a device id that logins hand out. */
export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID.test(value)
}
