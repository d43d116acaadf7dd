/**
 * Invitations (PROTOCOL.md §9): nobody becomes a member without agreeing.
 * Owners and admins invite a username; the user holding it accepts or declines.
 *
 * An invitation names a username whether or not such a user exists, and the answer is the same
 * either way, so inviting reveals no usernames. It reaches the account that held the name when
 * it was sent: one sent before the account existed is not shown to it (a name registered later
 * does not collect invitations meant for someone else). Invitations expire after 7 days; an
 * organization has at most `maxPendingInvitations` pending.
 */
import { isUuid, PulseError, uuidv7 } from '@pulse/core'
import type { Actor } from '../engine/context.ts'
import type { AccountDeps } from './account-deps.ts'
import { username as checkUsername, invalid } from './account-input.ts'
import { type AccountDb, lockRow } from './account-tables.ts'
import { checkRoleChange, requireManager, standingIn } from './org-roles.ts'
import * as store from './org-store.ts'
import { membershipMessages } from './organizations.ts'
import { bumpScopeEpoch, findUserById, findUserByName } from './user-store.ts'

/** How long an invitation stays open. */
export const INVITATION_TTL_MS = 7 * 86_400_000
/** Pending invitations one organization may have unless configured otherwise. */
export const DEFAULT_MAX_PENDING_INVITATIONS = 1000

/** What the invitation part takes. */
export interface InvitationOptions {
  maxPendingInvitations?: number
}

/** An invitation as the API shows it. */
export interface Invitation {
  id: string
  orgId: string
  /** The organization's name (shown to the invitee). */
  orgName?: string
  username: string
  role: store.Role
  createdAt: string
  expiresAt: string
}

const show = (inv: store.InvitationRow, orgName?: string): Invitation => ({
  id: inv.id,
  orgId: inv.orgId,
  ...(orgName !== undefined ? { orgName } : {}),
  username: inv.usernameKey,
  role: inv.role,
  createdAt: inv.createdAt,
  expiresAt: inv.expiresAt,
})

const noSuchInvitation = () => new PulseError('not_found', 'no such invitation')

/** The invitation part of the accounts service. */
export function createInvitations(deps: AccountDeps, options: InvitationOptions = {}) {
  const { sql, read } = deps
  const maxPending = options.maxPendingInvitations ?? DEFAULT_MAX_PENDING_INVITATIONS

  /** The invitation if it is addressed to this user and still open. */
  async function mine(db: AccountDb, actor: Actor, id: string): Promise<store.InvitationRow> {
    const user = actor.userId ? await findUserById(db, actor.userId) : undefined
    const inv = user && isUuid(id) ? await store.findInvitation(db, id) : undefined
    const now = deps.now().toISOString()
    if (!user || !inv || inv.usernameKey !== user.username.toLowerCase() || inv.expiresAt <= now || inv.createdAt < user.createdAt)
      throw noSuchInvitation()
    return inv
  }

  return {
    /** `POST /api/orgs/:id/invitations {username, role?}` (owners and admins; an owner role by owners only). */
    async invite(actor: Actor, orgId: string, input: { username?: unknown; role?: unknown }): Promise<Invitation> {
      const name = checkUsername(input.username)
      const role = input.role === undefined ? 'member' : input.role
      if (typeof role !== 'string' || !store.ROLES.includes(role as store.Role))
        throw invalid('role', 'invalid_choice', 'owner, admin or member')
      const at = deps.now()
      const row: store.InvitationRow = {
        id: uuidv7(),
        orgId,
        usernameKey: name.toLowerCase(),
        role: role as store.Role,
        invitedBy: actor.userId,
        createdAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + INVITATION_TTL_MS).toISOString(),
      }
      return sql(async (db) => {
        const standing = await standingIn(db, actor, orgId)
        requireManager(standing)
        await checkRoleChange(db, standing, orgId, undefined, row.role)
        // Managers see their members (GET /api/users): saying so reveals nothing new.
        const user = await findUserByName(db, name)
        if (user && (await store.roleIn(db, orgId, user.id))) throw new PulseError('already_exists', `"${name}" is already a member`)
        await store.purgeExpiredInvitations(db, row.createdAt)
        const pending = await store.invitationsOf(db, orgId, row.createdAt)
        const renewed = pending.find((p) => p.usernameKey === row.usernameKey)
        if (!renewed && pending.length >= maxPending)
          throw new PulseError('forbidden', `this organization has ${maxPending} invitations pending: cancel some first`)
        await store.putInvitation(db, renewed ? { ...row, id: renewed.id } : row)
        return show(renewed ? { ...row, id: renewed.id } : row)
      })
    },

    /** `GET /api/orgs/:id/invitations` (owners and admins): the pending ones. */
    async sent(actor: Actor, orgId: string): Promise<Invitation[]> {
      return sql(async (db) => {
        requireManager(await standingIn(db, actor, orgId))
        return (await store.invitationsOf(db, orgId, deps.now().toISOString())).map((i) => show(i))
      })
    },

    /** `DELETE /api/orgs/:id/invitations/:invitationId` (owners and admins). */
    async cancel(actor: Actor, orgId: string, id: string): Promise<void> {
      await sql(async (db) => {
        requireManager(await standingIn(db, actor, orgId))
        const inv = isUuid(id) ? await store.findInvitation(db, id) : undefined
        if (!inv || inv.orgId !== orgId) throw noSuchInvitation()
        await store.deleteInvitation(db, id)
      })
    },

    /** `GET /api/invitations`: the open invitations addressed to me. */
    async received(actor: Actor): Promise<Invitation[]> {
      if (!actor.userId) return []
      const userId = actor.userId
      return read(async (db) => {
        const user = await findUserById(db, userId)
        if (!user) return []
        const found = await store.invitationsFor(db, user.username.toLowerCase(), deps.now().toISOString())
        return found.filter((i) => i.createdAt >= user.createdAt).map((i) => show(i, i.orgName))
      })
    },

    /** `POST /api/invitations/:id/accept`: I join with the invited role (a member already keeps theirs). */
    async accept(actor: Actor, id: string): Promise<{ orgId: string; role: store.Role }> {
      const userId = actor.userId
      if (!userId) throw noSuchInvitation()
      const joined = await sql(async (db) => {
        const inv = await mine(db, actor, id)
        if (!(await lockRow(db, 'pulse_orgs', inv.orgId))) throw noSuchInvitation()
        await store.deleteInvitation(db, inv.id)
        const current = await store.roleIn(db, inv.orgId, userId)
        if (current) return { orgId: inv.orgId, role: current, bumped: new Map<string, number>() }
        await store.putMember(db, inv.orgId, userId, inv.role, deps.now().toISOString())
        return { orgId: inv.orgId, role: inv.role, bumped: await bumpScopeEpoch(db, [userId]) }
      })
      for (const m of membershipMessages(joined.bumped)) deps.announce(m)
      return { orgId: joined.orgId, role: joined.role }
    },

    /** `POST /api/invitations/:id/decline`. */
    async decline(actor: Actor, id: string): Promise<void> {
      await sql(async (db) => {
        await store.deleteInvitation(db, (await mine(db, actor, id)).id)
      })
    },
  }
}
