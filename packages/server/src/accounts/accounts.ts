/**
 * Accounts (PROTOCOL.md §9): users, organizations and memberships, devices, access and refresh
 * tokens, API tokens; and turning a credential into the engine's Actor. Transport-free.
 */
import { randomBytes } from 'node:crypto'
import { isUuid, PulseError, uuidv7 } from '@pulse/core'
import type { AccessTokens } from '../auth/access-tokens.ts'
import { hashToken, newOpaqueToken } from '../auth/opaque-token.ts'
import { checkPassword, DUMMY_HASH, hashPassword, verifyPassword } from '../auth/passwords.ts'
import { type Actor, DEVICE_ID_PREFIX } from '../engine/context.ts'
import type { Storage } from '../storage/storage.ts'
import * as db from './account-store.ts'
import { ensureAccountTables } from './account-tables.ts'
import { createRateLimiter, type RateLimiter } from './rate-limiter.ts'

/** A user as the API shows it. */
export interface PublicUser {
  id: string
  username: string
  email: string | null
  isAdmin: boolean
}

/** What a login answers. */
export interface Session {
  access: string
  refresh: string
  user: PublicUser
  device: { id: string; name: string }
}

/** What `createAccounts` takes. */
export interface AccountsOptions {
  storage: Storage
  tokens: AccessTokens
  /** Whether `POST /api/auth/register` is open. */
  allowRegistration: boolean
  refreshTtlDays?: number
  /** Failed login attempts allowed per account and per address in 15 minutes. */
  loginLimitPerAccount?: number
  loginLimitPerAddress?: number
  now?: () => Date
}

const USERNAME = /^[A-Za-z0-9_.@-]{3,64}$/
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/
const LOGIN_WINDOW_MS = 15 * 60_000

function invalid(field: string, code: string, message: string): PulseError {
  return new PulseError('validation_failed', `${field}: ${message}`, [{ field, code, message }])
}

function str(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw invalid(field, 'wrong_type', `a string of 1 to ${max} characters`)
  return value
}

const publicUser = (u: db.UserRow): PublicUser => ({ id: u.id, username: u.username, email: u.email, isAdmin: u.isAdmin })
const notFound = (what: string) => new PulseError('not_found', `no such ${what}`)

/** The accounts service. */
export type Accounts = ReturnType<typeof createAccounts>

/** Creates the accounts service over a storage (call `migrate` once before use). */
export function createAccounts(options: AccountsOptions) {
  const { storage, tokens } = options
  const now = options.now ?? (() => new Date())
  const refreshTtlMs = (options.refreshTtlDays ?? 30) * 86_400_000
  const perAccount: RateLimiter = createRateLimiter({
    limit: options.loginLimitPerAccount ?? 10,
    windowMs: LOGIN_WINDOW_MS,
    what: 'login attempts for this account',
  })
  const perAddress: RateLimiter = createRateLimiter({
    limit: options.loginLimitPerAddress ?? 100,
    windowMs: LOGIN_WINDOW_MS,
    what: 'login attempts from this address',
  })
  const sql = storage.sqlTransaction.bind(storage)
  // Lookups on every request (credentials, memberships) read beside writers, never behind them.
  const read = storage.sqlRead.bind(storage)

  async function newUser(input: { username: unknown; email?: unknown; password: unknown; admin?: boolean }): Promise<PublicUser> {
    const username = str(input.username, 'username', 64)
    if (!USERNAME.test(username)) throw invalid('username', 'invalid_username', '3-64 letters, digits or _.@-')
    const email = input.email === undefined || input.email === null ? null : str(input.email, 'email', 320)
    if (email !== null && !EMAIL.test(email)) throw invalid('email', 'invalid_email', 'an email address')
    const passwordHash = await hashPassword(checkPassword(input.password))
    const user: db.UserRow = {
      id: uuidv7(),
      username,
      email,
      passwordHash,
      isAdmin: input.admin === true,
      scopeEpoch: 0,
      createdAt: now().toISOString(),
    }
    await sql(async (ctx) => {
      if (await db.findUserByName(ctx, username)) throw new PulseError('already_exists', `the username "${username}" is taken`)
      await db.insertUser(ctx, user)
    })
    return publicUser(user)
  }

  async function issue(userId: string, deviceId: string, familyId: string): Promise<{ access: string; refresh: string }> {
    const refresh = newOpaqueToken('prt_')
    const at = now()
    await sql((ctx) =>
      db.insertRefresh(ctx, {
        id: uuidv7(),
        familyId,
        userId,
        deviceId,
        tokenHash: hashToken(refresh),
        expiresAt: new Date(at.getTime() + refreshTtlMs).toISOString(),
        usedAt: null,
        revokedAt: null,
        createdAt: at.toISOString(),
      }),
    )
    return { access: (await tokens.sign(userId, deviceId)).token, refresh }
  }

  async function actorOf(user: db.UserRow, deviceId: string | null): Promise<Actor> {
    const orgs = await read((ctx) => db.membershipsOf(ctx, user.id))
    return { userId: user.id, orgIds: orgs.map((o) => o.orgId), deviceId, admin: user.isAdmin, scopeEpoch: user.scopeEpoch }
  }

  async function requireManager(actor: Actor, orgId: string): Promise<void> {
    if (!isUuid(orgId)) throw notFound('organization')
    const role = actor.userId ? await sql((ctx) => db.roleIn(ctx, orgId, actor.userId as string)) : undefined
    if (!actor.admin && role === undefined) throw notFound('organization')
    if (!actor.admin && role !== 'owner' && role !== 'admin') throw new PulseError('forbidden', 'only owners and admins manage members')
  }

  return {
    /** Creates the account tables (idempotent). */
    migrate: () => sql((ctx) => ensureAccountTables(ctx)),

    /** Self-service sign-up, when open. */
    async register(input: { username: unknown; email?: unknown; password: unknown }): Promise<PublicUser> {
      if (!options.allowRegistration) throw new PulseError('forbidden', 'sign-up is closed on this server')
      return newUser(input)
    },

    /** Creates a user (CLI: createuser, createsuperuser). */
    createUser: newUser,

    /** §9 login: checks the password, registers or reuses the device, issues tokens. */
    async login(
      input: { username: unknown; password: unknown; deviceName?: unknown; deviceId?: unknown },
      address: string,
    ): Promise<Session> {
      const username = str(input.username, 'username', 64)
      const password = typeof input.password === 'string' ? input.password : ''
      // Failed attempts are counted, per account and per address; a blocked one is refused
      // before its password is even checked.
      const account = username.toLowerCase()
      if (perAddress.blocked(address)) perAddress.hit(address)
      if (perAccount.blocked(account)) perAccount.hit(account)
      const user = await sql((ctx) => db.findUserByName(ctx, username))
      // Spend the same time whether or not the user exists, so timing reveals no usernames.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH)
      if (!user || !ok) {
        perAddress.hit(address)
        perAccount.hit(account)
        throw new PulseError('unauthenticated', 'wrong username or password')
      }
      perAccount.reset(account)
      const at = now().toISOString()
      const wanted = typeof input.deviceId === 'string' ? input.deviceId : undefined
      const name = typeof input.deviceName === 'string' && input.deviceName.length > 0 ? input.deviceName.slice(0, 100) : 'device'
      const device = await sql(async (ctx) => {
        const existing = wanted ? await db.findDevice(ctx, wanted) : undefined
        if (existing && existing.userId === user.id) {
          await db.touchDevice(ctx, existing.id, at)
          return existing
        }
        const created: db.DeviceRow = {
          id: `${DEVICE_ID_PREFIX}${randomBytes(12).toString('base64url')}`,
          userId: user.id,
          name,
          createdAt: at,
          lastSeenAt: at,
        }
        await db.insertDevice(ctx, created)
        return created
      })
      const pair = await issue(user.id, device.id, uuidv7())
      return { ...pair, user: publicUser(user), device: { id: device.id, name: device.name } }
    },

    /**
     * §9 refresh with rotation: the presented token stops working; presenting an already-used
     * one revokes its whole family (someone replayed a stolen token).
     */
    async refresh(token: unknown): Promise<{ access: string; refresh: string }> {
      if (typeof token !== 'string' || token.length > 200) throw new PulseError('unauthenticated', 'the refresh token is not valid')
      const at = now()
      const outcome = await sql(async (ctx) => {
        const row = await db.findRefresh(ctx, hashToken(token))
        if (!row || row.revokedAt) return 'invalid' as const
        if (row.usedAt) {
          await db.revokeRefreshFamily(ctx, row.familyId, at.toISOString())
          return 'replayed' as const
        }
        if (Date.parse(row.expiresAt) <= at.getTime()) return 'invalid' as const
        await db.markRefreshUsed(ctx, row.id, at.toISOString())
        return row
      })
      if (outcome === 'invalid') throw new PulseError('unauthenticated', 'the refresh token is not valid: log in again')
      if (outcome === 'replayed')
        throw new PulseError('unauthenticated', 'the refresh token was already used: every session of it is revoked, log in again')
      return issue(outcome.userId, outcome.deviceId, outcome.familyId)
    },

    /** §9 logout: the refresh token's family stops working. Unknown tokens are ignored. */
    async logout(token: unknown): Promise<void> {
      if (typeof token !== 'string' || token.length > 200) return
      const at = now().toISOString()
      await sql(async (ctx) => {
        const row = await db.findRefresh(ctx, hashToken(token))
        if (row) await db.revokeRefreshFamily(ctx, row.familyId, at)
      })
    },

    /** The actor of a verified access token; `unauthenticated` when its user is gone. */
    async actorForAccessToken(token: string): Promise<{ actor: Actor; expiresAt: number }> {
      const claims = await tokens.verify(token)
      const user = await read((ctx) => db.findUserById(ctx, claims.userId))
      if (!user) throw new PulseError('unauthenticated', 'the account no longer exists')
      return { actor: await actorOf(user, claims.deviceId), expiresAt: claims.expiresAt }
    },

    /** The actor of an API token: an organization's service, or an admin one. */
    async actorForApiToken(token: string): Promise<Actor> {
      if (token.length > 200) throw new PulseError('unauthenticated', 'the API token is not valid')
      const row = await read((ctx) => db.findApiToken(ctx, hashToken(token)))
      if (!row || row.revokedAt) throw new PulseError('unauthenticated', 'the API token is not valid or was revoked')
      return { userId: null, orgIds: row.orgId ? [row.orgId] : [], deviceId: null, admin: row.isAdmin, tokenId: row.id }
    },

    /** `GET /api/users/me`. */
    async me(actor: Actor): Promise<PublicUser & { orgs: { id: string; name: string; role: db.Role }[] }> {
      if (!actor.userId) throw new PulseError('forbidden', 'an API token has no user')
      const userId = actor.userId
      return sql(async (ctx) => {
        const user = await db.findUserById(ctx, userId)
        if (!user) throw new PulseError('unauthenticated', 'the account no longer exists')
        const orgs = await db.membershipsOf(ctx, userId)
        return { ...publicUser(user), orgs: orgs.map((o) => ({ id: o.orgId, name: o.name, role: o.role })) }
      })
    },

    /** `GET /api/users`: the members of my organizations. */
    users: (actor: Actor) => sql((ctx) => db.usersSharingOrgs(ctx, actor.orgIds)),

    /** `GET /api/devices`. */
    async devices(actor: Actor): Promise<db.DeviceRow[]> {
      if (!actor.userId) return []
      const userId = actor.userId
      return sql((ctx) => db.devicesOf(ctx, userId))
    },

    /** `POST /api/devices`: registers another device of mine. */
    async addDevice(actor: Actor, name: unknown): Promise<db.DeviceRow> {
      if (!actor.userId) throw new PulseError('forbidden', 'an API token has no devices')
      const at = now().toISOString()
      const device: db.DeviceRow = {
        id: `${DEVICE_ID_PREFIX}${randomBytes(12).toString('base64url')}`,
        userId: actor.userId,
        name: str(name, 'name', 100),
        createdAt: at,
        lastSeenAt: null,
      }
      await sql((ctx) => db.insertDevice(ctx, device))
      return device
    },

    /** `POST /api/orgs`: the caller becomes its owner. */
    async createOrg(actor: Actor, name: unknown): Promise<{ id: string; name: string }> {
      if (!actor.userId) throw new PulseError('forbidden', 'an API token cannot own an organization')
      const userId = actor.userId
      const org = { id: uuidv7(), name: str(name, 'name', 200), createdAt: now().toISOString() }
      await sql(async (ctx) => {
        await db.insertOrg(ctx, org)
        await db.putMember(ctx, org.id, userId, 'owner', org.createdAt)
        await db.bumpScopeEpoch(ctx, userId)
      })
      return { id: org.id, name: org.name }
    },

    /** `GET /api/orgs`. */
    async orgs(actor: Actor): Promise<{ id: string; name: string; role: db.Role }[]> {
      if (!actor.userId) return []
      const userId = actor.userId
      return (await sql((ctx) => db.membershipsOf(ctx, userId))).map((o) => ({ id: o.orgId, name: o.name, role: o.role }))
    },

    /** `POST /api/orgs/:id/members` (owners and admins). The member's next pull answers scope_changed. */
    async addMember(
      actor: Actor,
      orgId: string,
      input: { username?: unknown; role?: unknown },
    ): Promise<{ userId: string; role: db.Role }> {
      await requireManager(actor, orgId)
      const username = str(input.username, 'username', 64)
      const role = (input.role ?? 'member') as db.Role
      if (!db.ROLES.includes(role)) throw invalid('role', 'invalid_choice', 'owner, admin or member')
      return sql(async (ctx) => {
        const user = await db.findUserByName(ctx, username)
        if (!user) throw notFound('user')
        await db.putMember(ctx, orgId, user.id, role, now().toISOString())
        await db.bumpScopeEpoch(ctx, user.id)
        return { userId: user.id, role }
      })
    },

    /** `DELETE /api/orgs/:id/members/:userId` (owners and admins; the last owner stays). */
    async removeMember(actor: Actor, orgId: string, userId: string): Promise<void> {
      await requireManager(actor, orgId)
      await sql(async (ctx) => {
        const role = await db.roleIn(ctx, orgId, userId)
        if (!role) throw notFound('member')
        if (role === 'owner' && (await db.countOwners(ctx, orgId)) === 1)
          throw new PulseError('forbidden', 'an organization keeps at least one owner')
        await db.deleteMember(ctx, orgId, userId)
        await db.bumpScopeEpoch(ctx, userId)
      })
    },

    /** Creates an API token (CLI); the token is shown once. */
    async createApiToken(input: { name: string; orgId?: string; admin?: boolean }): Promise<{ token: string; row: db.ApiTokenRow }> {
      if (!input.admin && !input.orgId)
        throw new PulseError('bad_request', 'an API token is for an organization (--org) or admin (--admin)')
      const token = newOpaqueToken('pat_')
      const row: db.ApiTokenRow = {
        id: uuidv7(),
        name: str(input.name, 'name', 100),
        orgId: input.orgId ?? null,
        isAdmin: input.admin === true,
        createdAt: now().toISOString(),
        revokedAt: null,
        lastUsedAt: null,
      }
      await sql(async (ctx) => {
        if (row.orgId && !(await db.findOrg(ctx, row.orgId))) throw notFound('organization')
        await db.insertApiToken(ctx, { ...row, tokenHash: hashToken(token) })
      })
      return { token, row }
    },
    listApiTokens: () => sql((ctx) => db.listApiTokens(ctx)),
    async revokeApiToken(id: string): Promise<void> {
      if (!(await sql((ctx) => db.revokeApiToken(ctx, id, now().toISOString())))) throw notFound('live API token')
    },
  }
}
