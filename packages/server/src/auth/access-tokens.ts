/**
 * Access tokens: short-lived JWTs (HS256 pinned, expiry required, issuer and audience checked)
 * binding a user and a device (PROTOCOL.md §9). Anything else — `alg: none`, another algorithm,
 * another key, an expired or malformed token — is refused as `unauthenticated`.
 */
import { PulseError } from '@pulse/core'
import { jwtVerify, SignJWT } from 'jose'
import { MAX_ACCESS_TOKEN_CHARS } from './credentials.ts'

/** How long an access token lives unless configured otherwise. */
export const DEFAULT_ACCESS_TTL_SECONDS = 15 * 60
const ISSUER = 'pulse'
const AUDIENCE = 'pulse-api'
const ALGORITHM = 'HS256'

/** What an access token says. */
export interface AccessClaims {
  userId: string
  deviceId: string
  /**
   * The device's session epoch when the token was signed (claim `sep`; 0 when absent). Logout
   * raises the device's epoch, so every earlier token of that device stops working at once.
   */
  sessionEpoch: number
  /** Seconds since the epoch. */
  expiresAt: number
}

/** Signs and verifies access tokens with one key. */
export interface AccessTokens {
  sign(userId: string, deviceId: string, sessionEpoch: number): Promise<{ token: string; expiresAt: number }>
  verify(token: string): Promise<AccessClaims>
  readonly ttlSeconds: number
}

/** Creates the signer; `now` (ms) is for tests. */
export function createAccessTokens(key: Uint8Array, ttlSeconds = DEFAULT_ACCESS_TTL_SECONDS, now: () => number = Date.now): AccessTokens {
  return {
    ttlSeconds,
    async sign(userId, deviceId, sessionEpoch) {
      const iat = Math.floor(now() / 1000)
      const expiresAt = iat + ttlSeconds
      const token = await new SignJWT({ did: deviceId, sep: sessionEpoch })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(expiresAt)
        .sign(key)
      return { token, expiresAt }
    },
    async verify(token) {
      if (token.length > MAX_ACCESS_TOKEN_CHARS) throw new PulseError('unauthenticated', 'the access token is malformed')
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(now()),
        })
        if (typeof payload.sub !== 'string' || typeof payload.did !== 'string' || typeof payload.exp !== 'number') throw new Error('claims')
        const sep = payload.sep ?? 0
        if (typeof sep !== 'number' || !Number.isSafeInteger(sep) || sep < 0) throw new Error('claims')
        return { userId: payload.sub, deviceId: payload.did, sessionEpoch: sep, expiresAt: payload.exp }
      } catch (e) {
        const expired = (e as { code?: unknown }).code === 'ERR_JWT_EXPIRED'
        throw new PulseError('unauthenticated', expired ? 'the access token has expired: refresh it' : 'the access token is not valid')
      }
    },
  }
}
