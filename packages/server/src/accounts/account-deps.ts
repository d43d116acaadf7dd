/** What every part of the accounts service (sessions, organizations, API tokens) shares. */
import type { AccessTokens } from '../auth/access-tokens.ts'
import type { ControlMessage } from '../bus/control.ts'
import type { Actor } from '../engine/context.ts'
import type { AccountDb } from './account-tables.ts'

/**
 * What a credential stands for, kept to check it again later (an open socket's push, a bus
 * event) without keeping the secret itself.
 */
export type CredentialRef =
  | { readonly kind: 'device'; readonly userId: string; readonly deviceId: string; readonly sessionEpoch: number }
  | { readonly kind: 'api'; readonly tokenId: string }

/** An actor with the credential it came from. */
export interface Authenticated {
  actor: Actor
  credential: CredentialRef
  /** When the credential expires, seconds since the epoch (access tokens). */
  expiresAt?: number
}

/** The shared parts. */
export interface AccountDeps {
  tokens: AccessTokens
  /** Runs `fn` in one write transaction. */
  sql<T>(fn: (db: AccountDb) => Promise<T>): Promise<T>
  /** Runs reads beside writers (every request's credential lookups). */
  read<T>(fn: (db: AccountDb) => Promise<T>): Promise<T>
  now(): Date
  /**
   * Tells every process about an access change, after its transaction committed (the bus's
   * control channel). Never throws: a failure goes to `onError`.
   */
  announce(message: ControlMessage): void
  /** Background failures (a publish, a last-used write). */
  onError(error: unknown): void
}
