/**
 * Turning a request's credentials into the engine's Actor (PROTOCOL.md §9): a JWT access token
 * (`Authorization: Bearer <jwt>`), or an API token (`x-auth-token: <token>` or
 * `Authorization: Bearer <token>`). Each credential is rate limited.
 */

import type { IncomingHttpHeaders } from 'node:http'
import { PulseError } from '@pulse/core'
import type { Accounts } from '../accounts/accounts.ts'
import { createRateLimiter } from '../accounts/rate-limiter.ts'
import type { Actor } from '../engine/context.ts'

/** Requests per second one token may make before `429 rate_limited`. */
export const DEFAULT_TOKEN_RATE_PER_SECOND = 200

/** Authenticates requests. */
export interface Authenticator {
  /** The actor behind the request's credentials; `unauthenticated` when there are none or they fail. */
  fromHeaders(headers: IncomingHttpHeaders): Promise<Actor>
  /** The actor behind a bare token (the WebSocket hello), with when it expires (seconds), if it does. */
  fromToken(token: string | undefined): Promise<{ actor: Actor; expiresAt?: number }>
}

const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)

/** Creates the authenticator over the accounts service. */
export function createAuthenticator(accounts: Accounts, options: { tokenRatePerSecond?: number } = {}): Authenticator {
  const perToken = createRateLimiter({
    limit: options.tokenRatePerSecond ?? DEFAULT_TOKEN_RATE_PER_SECOND,
    windowMs: 1000,
    what: 'requests with this token',
  })

  async function fromToken(token: string | undefined): Promise<{ actor: Actor; expiresAt?: number }> {
    if (!token) throw new PulseError('unauthenticated', 'send credentials: Authorization: Bearer <token> or x-auth-token')
    perToken.hit(token)
    if (looksLikeJwt(token)) return accounts.actorForAccessToken(token)
    return { actor: await accounts.actorForApiToken(token) }
  }

  return {
    fromToken,
    async fromHeaders(headers) {
      const apiToken = headers['x-auth-token']
      if (typeof apiToken === 'string' && apiToken.length > 0) {
        perToken.hit(apiToken)
        return accounts.actorForApiToken(apiToken)
      }
      const authorization = headers.authorization
      if (authorization !== undefined) {
        const m = /^Bearer ([^\s]{1,4096})$/i.exec(authorization)
        if (!m) throw new PulseError('unauthenticated', 'the Authorization header must be "Bearer <token>"')
        return (await fromToken(m[1])).actor
      }
      throw new PulseError('unauthenticated', 'send credentials: Authorization: Bearer <token> or x-auth-token')
    },
  }
}
