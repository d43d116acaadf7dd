/**
 * Who may change what in an organization (PROTOCOL.md §9), decided in one place:
 *
 * - owners and admins manage members; server admins may do anything an owner may;
 * - only owners (and server admins) make someone an owner, demote an owner or remove one;
 * - an organization always keeps at least one owner, on every path: a role change, a removal,
 *   a member leaving. Checks run with the organization's row locked, so two owners demoting
 *   each other at once cannot both succeed.
 */
import { isUuid, PulseError } from '@pulse/core'
import type { Actor } from '../engine/context.ts'
import { type AccountDb, lockRow } from './account-tables.ts'
import { countOwners, type Role, roleIn } from './org-store.ts'

/** The caller's standing in an organization: a role, or a server admin (who may do what an owner may). */
export type Standing = Role | 'server_admin'

/** The same answer as for an organization that does not exist. */
export const noSuchOrg = () => new PulseError('not_found', 'no such organization')

/**
 * Locks the organization's row and returns the caller's standing there; an organization the
 * caller is not in (or that does not exist) answers `not_found`, so none is revealed.
 */
export async function standingIn(db: AccountDb, actor: Actor, orgId: string): Promise<Standing> {
  if (!isUuid(orgId) || !(await lockRow(db, 'pulse_orgs', orgId))) throw noSuchOrg()
  if (actor.admin) return 'server_admin'
  const role = actor.userId ? await roleIn(db, orgId, actor.userId) : undefined
  if (role) return role
  throw noSuchOrg()
}

/** Refuses a caller who does not manage members (owners, admins, server admins). */
export function requireManager(standing: Standing): void {
  if (standing === 'member') throw new PulseError('forbidden', 'only owners and admins manage members')
}

/** True when the standing may touch owners. */
export const mayManageOwners = (standing: Standing): boolean => standing === 'owner' || standing === 'server_admin'

/** Refuses a change from `before` (undefined: not a member) to `after` (undefined: removed) that the caller may not make. */
export async function checkRoleChange(
  db: AccountDb,
  standing: Standing,
  orgId: string,
  before: Role | undefined,
  after: Role | undefined,
): Promise<void> {
  if ((before === 'owner' || after === 'owner') && !mayManageOwners(standing))
    throw new PulseError('forbidden', 'only owners make, demote or remove owners')
  if (before === 'owner' && after !== 'owner' && (await countOwners(db, orgId)) <= 1)
    throw new PulseError(
      'forbidden',
      'an organization keeps at least one owner: make someone else owner first (or delete the organization)',
    )
}
