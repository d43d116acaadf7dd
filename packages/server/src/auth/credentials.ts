/**
 * The shapes of the credentials Pulse hands out (PROTOCOL.md §9), checked before anything else
 * is done with a presented one: a credential of the wrong shape or length is refused at once,
 * before it is hashed, looked up, counted or kept anywhere (a limiter keyed by raw 1 MiB tokens
 * would grow without bound).
 */

/** Longest access token accepted, in characters (Pulse's JWTs are about 300). */
export const MAX_ACCESS_TOKEN_CHARS = 2048

const OPAQUE_BODY = '[A-Za-z0-9_-]{43}' // 256 random bits, base64url
const API_TOKEN = new RegExp(`^pat_${OPAQUE_BODY}$`)
const REFRESH_TOKEN = new RegExp(`^prt_${OPAQUE_BODY}$`)
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** What a presented bearer credential is, by its shape alone. */
export type CredentialKind = 'access' | 'api'

/** The kind of a presented credential, or undefined when it has no accepted shape or length. */
export function credentialKind(token: string): CredentialKind | undefined {
  if (token.length <= MAX_ACCESS_TOKEN_CHARS && JWT.test(token)) return 'access'
  if (API_TOKEN.test(token)) return 'api'
  return undefined
}

/** True when `token` has the shape of an API token (`pat_…`). */
export function isApiTokenShape(token: unknown): token is string {
  return typeof token === 'string' && API_TOKEN.test(token)
}

/** True when `token` has the shape of a refresh token (`prt_…`). */
export function isRefreshTokenShape(token: unknown): token is string {
  return typeof token === 'string' && REFRESH_TOKEN.test(token)
}
