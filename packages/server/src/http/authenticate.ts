/**
 * Turning a request's credentials into the engine's Actor (PROTOCOL.md §9): a JWT access token
 * (`Authorization: Bearer <jwt>`), or an API token (`x-auth-token: <token>` or
 * `Authorization: Bearer <token>`).
 *
 * Order matters (issue 8, findings 1 and 14): a credential of the wrong shape or length is
 * refused before anything is kept; an access token's signature is checked before it is counted;
 * then each caller is rate limited by its identity — a user's device (every spelling and every
 * refresh of its tokens counts as one), or an API token — and only then is the database read.
 */

import type { IncomingHttpHeaders } from 'node:http'
import { PulseError } from '@pulse/core'
import type { Accounts, Authenticated, CredentialRef } from '../accounts/accounts.ts'
import { createRateLimiter } from '../accounts/rate-limiter.ts'
import { credentialKind } from '../auth/credentials.ts'
import { hashToken } from '../auth/opaque-token.ts'
import type { Actor } from '../engine/context.ts'

/** Requests per second one device (all its access tokens) may make before `429 rate_limited`. */
export const DEFAULT_TOKEN_RATE_PER_SECOND = 200
/**
 * Requests per second one API token may make. A service writes through one token, so its
 * limit is well above what one process serves (about 10,000 single-record writes a second on
 * a small machine, issue 12): it stops a runaway loop, not a service's steady load.
 */
export const DEFAULT_API_TOKEN_RATE_PER_SECOND = 20_000

/** Rate limits of the authenticator. */
export interface AuthenticatorOptions {
  /** Per device, over all its access tokens (default 200). */
  tokenRatePerSecond?: number
  /** Per API token (default 20,000). */
  apiTokenRatePerSecond?: number
}

/** Authenticates requests. */
export interface Authenticator {
  /** The actor behind the request's credentials; `unauthenticated` when there are none or they fail. */
  fromHeaders(headers: IncomingHttpHeaders): Promise<Actor>
  /** The actor behind a bare token (the WebSocket hello), with its credential and when it expires. */
  fromToken(token: string | undefined): Promise<Authenticated>
  /** The actor a credential stands for now, read again (an open socket's push, a re-check). */
  reload(credential: CredentialRef): Promise<Actor>
}

const missing = () => new PulseError('unauthenticated', 'send credentials: Authorization: Bearer <token> or x-auth-token')
const malformed = () => new PulseError('unauthenticated', 'the credential is not a Pulse access token or API token')

/** Creates the authenticator over the accounts service. */
export function createAuthenticator(accounts: Accounts, options: AuthenticatorOptions = {}): Authenticator {
  const perDevice = createRateLimiter({
    limit: options.tokenRatePerSecond ?? DEFAULT_TOKEN_RATE_PER_SECOND,
    windowMs: 1000,
    what: 'requests from this device',
  })
  const perApiToken = createRateLimiter({
    limit: options.apiTokenRatePerSecond ?? DEFAULT_API_TOKEN_RATE_PER_SECOND,
    windowMs: 1000,
    what: 'requests with this API token',
  })

  async function fromToken(token: string | undefined): Promise<Authenticated> {
    if (!token) throw missing()
    const kind = credentialKind(token)
    if (kind === 'access') {
      const claims = await accounts.verifyAccessToken(token)
      perDevice.hit(claims.deviceId)
      return accounts.actorForClaims(claims)
    }
    if (kind === 'api') {
      // An API token has one accepted spelling, so its hash (what is stored) is its identity.
      perApiToken.hit(hashToken(token))
      return accounts.actorForApiToken(token)
    }
    throw malformed()
  }

  return {
    fromToken,
    reload: (credential) => accounts.actorForCredential(credential),
    async fromHeaders(headers) {
      const apiToken = headers['x-auth-token']
      if (apiToken !== undefined && apiToken !== '') {
        if (typeof apiToken !== 'string' || credentialKind(apiToken) !== 'api') throw malformed()
        return (await fromToken(apiToken)).actor
      }
      const authorization = headers.authorization
      if (authorization !== undefined) {
        const m = /^Bearer ([^\s]+)$/i.exec(authorization)
        if (!m) throw new PulseError('unauthenticated', 'the Authorization header must be "Bearer <token>"')
        return (await fromToken(m[1])).actor
      }
      throw missing()
    },
  }
}
