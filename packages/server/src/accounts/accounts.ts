/**
 * Accounts (PROTOCOL.md §9): users, organizations, memberships and invitations, devices, access
 * and refresh tokens, API tokens; and turning a credential into the engine's Actor.
 * Transport-free. The parts live beside this file: `sessions.ts`, `organizations.ts`,
 * `invitations.ts`, `api-tokens.ts`; this file joins them and holds sign-up.
 */
import { PulseError, uuidv7 } from '@pulse/core'
import type { AccessTokens } from '../auth/access-tokens.ts'
import { checkPasswordPolicy } from '../auth/password-policy.ts'
import { hashPassword } from '../auth/passwords.ts'
import type { ControlMessage } from '../bus/control.ts'
import type { Actor } from '../engine/context.ts'
import { isUniqueViolation } from '../storage/connection-errors.ts'
import type { SqlStorage } from '../storage/storage.ts'
import type { AccountDeps, Authenticated, CredentialRef } from './account-deps.ts'
import { email as checkEmail, username as checkUsername } from './account-input.ts'
import { type AccountTables, type AccountTablesReport, ensureAccountTables } from './account-tables.ts'
import { createApiTokens } from './api-tokens.ts'
import { createInvitations, type InvitationOptions } from './invitations.ts'
import type { LoginThrottleOptions } from './login-throttle.ts'
import { createOrganizations } from './organizations.ts'
import { createSessions, type PublicUser, publicUser } from './sessions.ts'
import { findUserByName, insertUser, type UserRow } from './user-store.ts'

export type { Authenticated, CredentialRef } from './account-deps.ts'
export type { PublicUser, Session } from './sessions.ts'

/** What `createAccounts` takes. */
export interface AccountsOptions extends InvitationOptions {
  /** The database the account tables live in, beside the engine's. */
  storage: SqlStorage
  tokens: AccessTokens
  /** Whether `POST /api/auth/register` is open. */
  allowRegistration: boolean
  refreshTtlDays?: number
  /** Devices one user may register (default 100). */
  maxDevicesPerUser?: number
  /** How failed logins are slowed (`login-throttle.ts`). */
  loginThrottle?: LoginThrottleOptions
  /** Whether a server admin may add a member without an invitation (default true). */
  directMemberAdd?: boolean
  /**
   * Where access changes go once committed (memberships, logouts, revocations): the bus's
   * control channel, so every process closes the sockets concerned. Default: nowhere (the CLI).
   */
  announce?: (message: ControlMessage) => Promise<void>
  /** Background failures (default: console.error). */
  onError?: (error: unknown) => void
  now?: () => Date
}

/** The accounts service. */
export type Accounts = ReturnType<typeof createAccounts>

/** Creates the accounts service over a storage (call `migrate` once before use). */
export function createAccounts(options: AccountsOptions) {
  const { storage } = options
  const onError = options.onError ?? ((e: unknown) => console.error('pulse: accounts', e))
  const deps: AccountDeps = {
    tokens: options.tokens,
    sql: (fn) => storage.sql.transaction((db) => fn(db.withTables<AccountTables>())),
    // Lookups on every request (credentials, memberships) read beside writers, never behind them.
    read: (fn) => storage.sql.read((db) => fn(db.withTables<AccountTables>())),
    now: options.now ?? (() => new Date()),
    announce(message) {
      // This process acts at once; the others when the bus brings the message.
      heard(message)
      const publish = options.announce
      if (!publish) return
      try {
        publish(message).catch(onError)
      } catch (e) {
        onError(e)
      }
    },
    onError,
  }
  const sessions = createSessions(deps, {
    ...(options.refreshTtlDays !== undefined ? { refreshTtlDays: options.refreshTtlDays } : {}),
    ...(options.maxDevicesPerUser !== undefined ? { maxDevicesPerUser: options.maxDevicesPerUser } : {}),
    ...(options.loginThrottle ? { loginThrottle: options.loginThrottle } : {}),
  })
  const organizations = createOrganizations(deps, options.directMemberAdd !== undefined ? { directMemberAdd: options.directMemberAdd } : {})
  const invitations = createInvitations(
    deps,
    options.maxPendingInvitations !== undefined ? { maxPendingInvitations: options.maxPendingInvitations } : {},
  )
  const apiTokens = createApiTokens(deps)
  /** An access change, announced here or heard from another process: what this process keeps of credentials follows it. */
  function heard(message: ControlMessage): void {
    if (message.type === 'api_token_revoked') apiTokens.forgetApiToken(message.tokenId)
  }

  async function newUser(input: { username: unknown; email?: unknown; password: unknown; admin?: boolean }): Promise<PublicUser> {
    const username = checkUsername(input.username)
    const email = checkEmail(input.email)
    const passwordHash = await hashPassword(checkPasswordPolicy(input.password, username))
    const user: UserRow = {
      id: uuidv7(),
      username,
      email,
      passwordHash,
      isAdmin: input.admin === true,
      scopeEpoch: 0,
      createdAt: deps.now().toISOString(),
    }
    try {
      await deps.sql(async (db) => {
        if (await findUserByName(db, username)) throw new PulseError('already_exists', `the username "${username}" is taken`)
        await insertUser(db, user)
      })
    } catch (e) {
      // Two sign-ups of one name in different case at once: the unique index on lower(username) decides.
      if (isUniqueViolation(e)) throw new PulseError('already_exists', `the username "${username}" is taken`)
      throw e
    }
    return publicUser(user)
  }

  return {
    /** An access change from the bus's control channel (another process's revocation): acted on at once. */
    heardControl: heard,

    /** Creates or updates the account tables (idempotent); says what it could not fix. */
    migrate: (): Promise<AccountTablesReport> => deps.sql((db) => ensureAccountTables(db)),

    /** Self-service sign-up, when open. */
    async register(input: { username: unknown; email?: unknown; password: unknown }): Promise<PublicUser> {
      if (!options.allowRegistration) throw new PulseError('forbidden', 'sign-up is closed on this server')
      return newUser(input)
    },

    /** Creates a user (CLI: createuser, createsuperuser). The password policy applies. */
    createUser: newUser,

    /** The actor a stored credential stands for now (an open socket's re-check). */
    async actorForCredential(credential: CredentialRef): Promise<Actor> {
      if (credential.kind === 'api') return apiTokens.actorForApiTokenId(credential.tokenId)
      const { userId, deviceId, sessionEpoch } = credential
      return (await sessions.actorForClaims({ userId, deviceId, sessionEpoch, expiresAt: 0 })).actor
    },

    /** The actor of a presented user access token (signature, expiry, session, memberships). */
    async actorForAccessToken(token: string): Promise<Authenticated> {
      return sessions.actorForClaims(await sessions.verifyAccessToken(token))
    },

    ...sessions,
    ...organizations,
    ...invitations,
    ...apiTokens,
  }
}
