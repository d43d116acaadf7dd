/**
 * Sessions (PROTOCOL.md §9): logins, devices, access and refresh tokens, logout, and turning a
 * user's access token into the engine's Actor.
 *
 * Every change to a device's sessions (a refresh, a logout, a replay, a removal) runs with the
 * device's row locked, so they happen one after another on PostgreSQL as on SQLite: of many
 * refreshes of one token exactly one succeeds, and revoking a family sees every child issued
 * before it.
 */
import { randomBytes } from 'node:crypto'
import { PulseError, uuidv7 } from '@pulse/core'
import type { AccessClaims } from '../auth/access-tokens.ts'
import { isRefreshTokenShape } from '../auth/credentials.ts'
import { hashToken, newOpaqueToken } from '../auth/opaque-token.ts'
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.ts'
import { type Actor, DEVICE_ID_PREFIX } from '../engine/context.ts'
import type { AccountDeps, Authenticated } from './account-deps.ts'
import { displayName, isDeviceId, isUsername } from './account-input.ts'
import { type AccountDb, lockRow } from './account-tables.ts'
import { createLoginThrottle, type LoginThrottleOptions } from './login-throttle.ts'
import { membershipsOf } from './org-store.ts'
import * as store from './session-store.ts'
import { findUserByName, type UserRow } from './user-store.ts'

/** Devices a user may have unless configured otherwise. */
export const DEFAULT_MAX_DEVICES_PER_USER = 100

/** What the session part takes. */
export interface SessionOptions {
  refreshTtlDays?: number
  /** Devices one user may register (logins with a known `deviceId` reuse it). Default 100. */
  maxDevicesPerUser?: number
  loginThrottle?: LoginThrottleOptions
}

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

/** The user as the API shows it. */
export const publicUser = (u: UserRow): PublicUser => ({ id: u.id, username: u.username, email: u.email, isAdmin: u.isAdmin })

const wrongLogin = () => new PulseError('unauthenticated', 'wrong username or password')
const sessionEnded = () => new PulseError('unauthenticated', 'this device is signed out (logout, or its session was revoked): log in again')

function newDeviceId(): string {
  return `${DEVICE_ID_PREFIX}${randomBytes(12).toString('base64url')}`
}

/** The session part of the accounts service. */
export function createSessions(deps: AccountDeps, options: SessionOptions = {}) {
  const { sql, read, tokens } = deps
  const refreshTtlMs = (options.refreshTtlDays ?? 30) * 86_400_000
  const maxDevices = options.maxDevicesPerUser ?? DEFAULT_MAX_DEVICES_PER_USER
  const throttle = createLoginThrottle(options.loginThrottle)

  async function storeRefresh(db: AccountDb, userId: string, deviceId: string, familyId: string): Promise<string> {
    const refresh = newOpaqueToken('prt_')
    const at = deps.now()
    await store.insertRefresh(db, {
      id: uuidv7(),
      familyId,
      userId,
      deviceId,
      tokenHash: hashToken(refresh),
      expiresAt: new Date(at.getTime() + refreshTtlMs).toISOString(),
      usedAt: null,
      revokedAt: null,
      createdAt: at.toISOString(),
    })
    return refresh
  }

  async function checkDeviceRoom(db: AccountDb, userId: string): Promise<void> {
    if ((await store.countDevices(db, userId)) >= maxDevices)
      throw new PulseError(
        'forbidden',
        `you have ${maxDevices} devices, the most allowed: remove one (DELETE /api/devices/:id) or log in as one`,
      )
  }

  async function actorOf(user: UserRow, deviceId: string | null): Promise<Actor> {
    const orgs = await read((db) => membershipsOf(db, user.id))
    return { userId: user.id, orgIds: orgs.map((o) => o.orgId), deviceId, admin: user.isAdmin, scopeEpoch: user.scopeEpoch }
  }

  /** Ends every session of a device (its row locked by the caller) and tells every process. */
  async function endSessions(db: AccountDb, device: { id: string; userId: string }): Promise<() => void> {
    await store.endDeviceSessions(db, device.id, deps.now().toISOString())
    return () => deps.announce({ type: 'session_ended', userId: device.userId, deviceId: device.id })
  }

  return {
    /**
     * §9 login: checks the password, registers or reuses the device, issues tokens. Guessing is
     * slowed per account and address (`login-throttle.ts`): a caller who must wait gets 429.
     */
    async login(
      input: { username: unknown; password: unknown; deviceName?: unknown; deviceId?: unknown },
      address: string,
    ): Promise<Session> {
      if (typeof input.username !== 'string' || input.username.length > 64)
        throw new PulseError('validation_failed', 'username: a string of 1 to 64 characters', [
          { field: 'username', code: 'wrong_type', message: 'a string of 1 to 64 characters' },
        ])
      const name = input.username
      const password = typeof input.password === 'string' ? input.password : ''
      const deviceName =
        input.deviceName === undefined || input.deviceName === '' ? 'device' : displayName(input.deviceName, 'deviceName', 100)
      const attempt = throttle.begin(name, address)
      let user: UserRow | undefined
      try {
        // A name no account can have is refused like a wrong password (and fast: it reveals nothing).
        user = isUsername(name) ? await read((db) => findUserByName(db, name)) : undefined
        // Spend the same time whether or not the user exists, so timing reveals no usernames.
        const ok = isUsername(name) && (await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH))
        if (!user || !ok) {
          attempt.failed()
          throw wrongLogin()
        }
        attempt.succeeded()
      } finally {
        attempt.abandoned() // no-op once failed or succeeded
      }
      const found = user
      const at = deps.now().toISOString()
      const wanted = isDeviceId(input.deviceId) ? input.deviceId : undefined
      const { device, epoch, refresh } = await sql(async (db) => {
        const existing = wanted ? await store.findDevice(db, wanted) : undefined
        let chosen: store.DeviceRow
        if (existing && existing.userId === found.id) {
          await lockRow(db, 'pulse_devices', existing.id)
          await store.touchDevice(db, existing.id, at)
          chosen = existing
        } else {
          await checkDeviceRoom(db, found.id)
          chosen = { id: newDeviceId(), userId: found.id, name: deviceName, createdAt: at, lastSeenAt: at }
          await store.insertDevice(db, chosen)
        }
        const epoch = (await store.deviceEpoch(db, chosen.id)) ?? 0
        return { device: chosen, epoch, refresh: await storeRefresh(db, found.id, chosen.id, uuidv7()) }
      })
      const { token } = await tokens.sign(found.id, device.id, epoch)
      return { access: token, refresh, user: publicUser(found), device: { id: device.id, name: device.name } }
    },

    /**
     * §9 refresh with rotation: exactly one use of a refresh token succeeds. Presenting a token
     * that was already used is a replay (someone holds a stolen copy): the whole family is
     * revoked, children issued meanwhile included, and the device's access tokens and sockets
     * end with it. Presenting it again answers the same and keeps the family revoked.
     */
    async refresh(token: unknown): Promise<{ access: string; refresh: string }> {
      const invalid = new PulseError('unauthenticated', 'the refresh token is not valid: log in again')
      if (!isRefreshTokenShape(token)) throw invalid
      const hash = hashToken(token)
      const at = deps.now().toISOString()
      let announce: (() => void) | undefined
      const outcome = await sql(async (db) => {
        announce = undefined // a transaction may run again (PostgreSQL retries transient failures)
        const row = await store.findRefresh(db, hash)
        if (!row || !(await lockRow(db, 'pulse_devices', row.deviceId))) return 'invalid' as const
        if (await store.claimRefresh(db, row.id, at)) {
          const epoch = (await store.deviceEpoch(db, row.deviceId)) ?? 0
          return { row, epoch, refresh: await storeRefresh(db, row.userId, row.deviceId, row.familyId) }
        }
        const now = await store.findRefresh(db, hash)
        if (!now?.usedAt) return 'invalid' as const // revoked by a logout, or expired
        // A replay: a family with live tokens left is revoked, and the device signed out.
        if ((await store.revokeRefreshFamily(db, now.familyId, at)) > 0)
          announce = await endSessions(db, { id: now.deviceId, userId: now.userId })
        return 'replayed' as const
      })
      announce?.()
      if (outcome === 'invalid') throw invalid
      if (outcome === 'replayed')
        throw new PulseError('unauthenticated', 'the refresh token was already used: every session of it is revoked, log in again')
      const { token: access } = await tokens.sign(outcome.row.userId, outcome.row.deviceId, outcome.epoch)
      return { access, refresh: outcome.refresh }
    },

    /**
     * §9 logout with a live refresh token: every session of its device ends at once — its refresh
     * tokens, its access tokens (the device's session epoch rises) and its open sockets (told
     * over the bus). Unknown, used or revoked tokens are ignored.
     */
    async logout(token: unknown): Promise<void> {
      if (!isRefreshTokenShape(token)) return
      const hash = hashToken(token)
      const at = deps.now().toISOString()
      const announce = await sql(async (db) => {
        const row = await store.findRefresh(db, hash)
        if (!row || !(await lockRow(db, 'pulse_devices', row.deviceId))) return undefined
        const now = await store.findRefresh(db, hash)
        if (!now || now.usedAt || now.revokedAt || now.expiresAt <= at) return undefined
        return endSessions(db, { id: now.deviceId, userId: now.userId })
      })
      announce?.()
    },

    /** Checks an access token's signature and expiry, reading nothing: safe before rate limiting. */
    verifyAccessToken: (token: string): Promise<AccessClaims> => tokens.verify(token),

    /** The actor of verified claims: one read of the user and device, one of the memberships. */
    async actorForClaims(claims: AccessClaims): Promise<Authenticated> {
      const found = await read((db) => store.findUserAndDevice(db, claims.userId, claims.deviceId))
      if (!found) throw new PulseError('unauthenticated', 'the account or device no longer exists')
      if (found.epoch !== claims.sessionEpoch) throw sessionEnded()
      return {
        actor: await actorOf(found.user, claims.deviceId),
        credential: { kind: 'device', userId: claims.userId, deviceId: claims.deviceId, sessionEpoch: claims.sessionEpoch },
        expiresAt: claims.expiresAt,
      }
    },

    /** `GET /api/devices`. */
    async devices(actor: Actor): Promise<store.DeviceRow[]> {
      if (!actor.userId) return []
      const userId = actor.userId
      return read((db) => store.devicesOf(db, userId))
    },

    /** `POST /api/devices`: registers another device of mine (at most `maxDevicesPerUser`). */
    async addDevice(actor: Actor, name: unknown): Promise<store.DeviceRow> {
      if (!actor.userId) throw new PulseError('forbidden', 'an API token has no devices')
      const device: store.DeviceRow = {
        id: newDeviceId(),
        userId: actor.userId,
        name: displayName(name, 'name', 100),
        createdAt: deps.now().toISOString(),
        lastSeenAt: null,
      }
      await sql(async (db) => {
        await checkDeviceRoom(db, device.userId)
        await store.insertDevice(db, device)
      })
      return device
    },

    /** `DELETE /api/devices/:id`: ends the device's sessions and forgets it. */
    async removeDevice(actor: Actor, id: string): Promise<void> {
      if (!actor.userId || !isDeviceId(id)) throw new PulseError('not_found', 'no such device')
      const userId = actor.userId
      const announce = await sql(async (db) => {
        const device = await store.findDevice(db, id)
        if (!device || device.userId !== userId || !(await lockRow(db, 'pulse_devices', id)))
          throw new PulseError('not_found', 'no such device')
        const done = await endSessions(db, device)
        await store.deleteDevice(db, id)
        return done
      })
      announce()
    },
  }
}
