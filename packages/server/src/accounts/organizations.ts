/**
 * Organizations and memberships (PROTOCOL.md §9): creating and deleting organizations, role
 * changes, removals and leaving, and who sees whom. Joining is by invitation
 * (`invitations.ts`); a server admin may add a member directly when `directMemberAdd` allows.
 *
 * Every change of someone's memberships raises their scope epoch (their cursors answer
 * `scope_changed`, §8) and, once committed, is announced on the bus so their open sockets
 * close at once (§6). A role change alters no one's scope: nothing to announce.
 */
import { isUuid, PulseError, uuidv7 } from '@pulse/core'
import type { ControlMessage } from '../bus/control.ts'
import { MAX_CONTROL_USER_IDS } from '../bus/control.ts'
import type { Actor } from '../engine/context.ts'
import type { AccountDeps } from './account-deps.ts'
import { username as checkUsername, displayName, invalid } from './account-input.ts'
import { checkRoleChange, mayManageOwners, requireManager, standingIn } from './org-roles.ts'
import * as store from './org-store.ts'
import { publicUser } from './sessions.ts'
import { revokeApiTokensOfOrg } from './token-store.ts'
import { bumpScopeEpoch, findUserById, findUserByName } from './user-store.ts'

/** What the organization part takes. */
export interface OrganizationOptions {
  /** Whether a server admin may add a member without an invitation (default true). */
  directMemberAdd?: boolean
}

/** A member of one of my organizations, as `GET /api/users` shows them. */
export interface VisibleUser {
  id: string
  username: string
  /** Shown to the user themself, to owners and admins of an organization they are in, and to server admins. */
  email: string | null
}

/** `membership_changed` messages for these users and their new scope epochs (`bumpScopeEpoch`), split to the bus's bound. */
export function membershipMessages(bumped: ReadonlyMap<string, number>): ControlMessage[] {
  const entries = [...bumped]
  const out: ControlMessage[] = []
  for (let i = 0; i < entries.length; i += MAX_CONTROL_USER_IDS) {
    const part = entries.slice(i, i + MAX_CONTROL_USER_IDS)
    out.push({ type: 'membership_changed', userIds: part.map(([id]) => id), epochs: part.map(([, epoch]) => epoch) })
  }
  return out
}

function parseRole(value: unknown, fallback: store.Role | undefined): store.Role | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !store.ROLES.includes(value as store.Role))
    throw invalid('role', 'invalid_choice', 'owner, admin or member')
  return value as store.Role
}

const needUser = (actor: Actor, what: string): string => {
  if (!actor.userId) throw new PulseError('forbidden', `an API token cannot ${what}`)
  return actor.userId
}

/** The organization part of the accounts service. */
export function createOrganizations(deps: AccountDeps, options: OrganizationOptions = {}) {
  const { sql, read } = deps
  const directAdd = options.directMemberAdd ?? true

  const announceMembership = (bumped: ReadonlyMap<string, number>) => {
    for (const m of membershipMessages(bumped)) deps.announce(m)
  }

  return {
    /** `GET /api/users/me`. */
    async me(actor: Actor) {
      const userId = needUser(actor, 'be a user')
      return read(async (db) => {
        const user = await findUserById(db, userId)
        if (!user) throw new PulseError('unauthenticated', 'the account no longer exists')
        const orgs = await store.membershipsOf(db, userId)
        return { ...publicUser(user), orgs: orgs.map((o) => ({ id: o.orgId, name: o.name, role: o.role })) }
      })
    },

    /** `GET /api/users`: the members of my organizations; emails only where I may see them. */
    async users(actor: Actor): Promise<VisibleUser[]> {
      return read(async (db) => {
        const managed = new Set(
          actor.userId ? (await store.membershipsOf(db, actor.userId)).filter((m) => m.role !== 'member').map((m) => m.orgId) : [],
        )
        const byId = new Map<string, VisibleUser>()
        for (const m of await store.membersOf(db, actor.orgIds)) {
          const seen = byId.get(m.id) ?? { id: m.id, username: m.username, email: null }
          if (actor.admin || m.id === actor.userId || managed.has(m.orgId)) seen.email = m.email
          byId.set(m.id, seen)
        }
        return [...byId.values()]
      })
    },

    /** `POST /api/orgs`: the caller becomes its owner. */
    async createOrg(actor: Actor, name: unknown): Promise<{ id: string; name: string }> {
      const userId = needUser(actor, 'own an organization')
      const org = { id: uuidv7(), name: displayName(name, 'name', 200), createdAt: deps.now().toISOString() }
      const bumped = await sql(async (db) => {
        await store.insertOrg(db, org)
        await store.putMember(db, org.id, userId, 'owner', org.createdAt)
        return bumpScopeEpoch(db, [userId])
      })
      announceMembership(bumped)
      return { id: org.id, name: org.name }
    },

    /** `GET /api/orgs`. */
    async orgs(actor: Actor): Promise<{ id: string; name: string; role: store.Role }[]> {
      if (!actor.userId) return []
      const userId = actor.userId
      return (await read((db) => store.membershipsOf(db, userId))).map((o) => ({ id: o.orgId, name: o.name, role: o.role }))
    },

    /**
     * `DELETE /api/orgs/:id` (owners): its memberships, invitations and API tokens go with it.
     * Its records stay in the database, visible to server admins only.
     */
    async deleteOrg(actor: Actor, orgId: string): Promise<void> {
      const at = deps.now().toISOString()
      const { bumped, tokens } = await sql(async (db) => {
        const standing = await standingIn(db, actor, orgId)
        if (!mayManageOwners(standing)) throw new PulseError('forbidden', 'only owners delete an organization')
        const members = await store.deleteOrg(db, orgId)
        const bumped = await bumpScopeEpoch(db, members)
        return { bumped, tokens: await revokeApiTokensOfOrg(db, orgId, at) }
      })
      announceMembership(bumped)
      for (const tokenId of tokens) deps.announce({ type: 'api_token_revoked', tokenId })
    },

    /**
     * `POST /api/orgs/:id/members {username, role}`: changes a member's role (owners and admins;
     * owners only where an owner is concerned). Someone not yet a member joins by invitation; a
     * server admin may add them directly when `directMemberAdd` is on. The answer for a
     * username that is not a member is the same whether or not such a user exists.
     */
    async setMember(
      actor: Actor,
      orgId: string,
      input: { username?: unknown; role?: unknown },
    ): Promise<{ userId: string; role: store.Role; added: boolean }> {
      const name = checkUsername(input.username)
      const wanted = parseRole(input.role, undefined)
      const result = await sql(async (db) => {
        const standing = await standingIn(db, actor, orgId)
        requireManager(standing)
        const user = await findUserByName(db, name)
        const before = user ? await store.roleIn(db, orgId, user.id) : undefined
        if (user && before) {
          const after = wanted ?? before
          await checkRoleChange(db, standing, orgId, before, after)
          if (after !== before) await store.putMember(db, orgId, user.id, after, deps.now().toISOString())
          return { userId: user.id, role: after, added: false, bumped: new Map<string, number>() }
        }
        if (standing !== 'server_admin' || !directAdd)
          throw new PulseError('forbidden', `"${name}" is not a member: invite them (POST /api/orgs/${orgId}/invitations)`)
        if (!user) throw new PulseError('not_found', 'no such user')
        const role = wanted ?? 'member'
        await store.putMember(db, orgId, user.id, role, deps.now().toISOString())
        return { userId: user.id, role, added: true, bumped: await bumpScopeEpoch(db, [user.id]) }
      })
      if (result.added) announceMembership(result.bumped)
      return { userId: result.userId, role: result.role, added: result.added }
    },

    /**
     * `DELETE /api/orgs/:id/members/:userId`: owners and admins remove members (owners only
     * remove owners); any member may remove themself (leave). The last owner stays.
     */
    async removeMember(actor: Actor, orgId: string, userId: string): Promise<void> {
      const bumped = await sql(async (db) => {
        const standing = await standingIn(db, actor, orgId)
        if (userId !== actor.userId) requireManager(standing)
        const before = isUuid(userId) ? await store.roleIn(db, orgId, userId) : undefined
        if (!before) throw new PulseError('not_found', 'no such member')
        await checkRoleChange(db, standing, orgId, before, undefined)
        await store.deleteMember(db, orgId, userId)
        return bumpScopeEpoch(db, [userId])
      })
      announceMembership(bumped)
    },
  }
}
