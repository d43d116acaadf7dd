/** Reads and writes of organizations, memberships and invitations (PROTOCOL.md §9). */
import type { AccountDb } from './account-tables.ts'

/** Membership roles (§9). */
export type Role = 'owner' | 'admin' | 'member'
export const ROLES: readonly Role[] = ['owner', 'admin', 'member']

/** One of a user's organizations. */
export interface Membership {
  orgId: string
  name: string
  role: Role
}

/** A pending invitation. */
export interface InvitationRow {
  id: string
  orgId: string
  /** The invited username, lower-cased. */
  usernameKey: string
  role: Role
  invitedBy: string | null
  createdAt: string
  expiresAt: string
}

/** A user seen through an organization they share with the caller. */
export interface CoMember {
  id: string
  username: string
  email: string | null
  orgId: string
}

/** A user's organizations with their role. */
export function membershipsOf(db: AccountDb, userId: string): Promise<Membership[]> {
  return db
    .selectFrom('pulse_members as m')
    .innerJoin('pulse_orgs as o', 'o.id', 'm.org_id')
    .select(['m.org_id as orgId', 'o.name', 'm.role'])
    .where('m.user_id', '=', userId)
    .orderBy('o.name')
    .execute()
}

/** Creates an organization. */
export async function insertOrg(db: AccountDb, org: { id: string; name: string; createdAt: string }): Promise<void> {
  await db.insertInto('pulse_orgs').values({ id: org.id, name: org.name, created_at: org.createdAt }).execute()
}

/** The organization, if any. */
export function findOrg(db: AccountDb, id: string): Promise<{ id: string; name: string } | undefined> {
  return db.selectFrom('pulse_orgs').select(['id', 'name']).where('id', '=', id).executeTakeFirst()
}

/** Deletes an organization with its memberships and invitations; returns the former members' ids. */
export async function deleteOrg(db: AccountDb, id: string): Promise<string[]> {
  const members = await db.deleteFrom('pulse_members').where('org_id', '=', id).returning('user_id').execute()
  await db.deleteFrom('pulse_invitations').where('org_id', '=', id).execute()
  await db.deleteFrom('pulse_orgs').where('id', '=', id).execute()
  return members.map((r) => r.user_id)
}

/** A user's role in an organization, if a member. */
export async function roleIn(db: AccountDb, orgId: string, userId: string): Promise<Role | undefined> {
  const row = await db
    .selectFrom('pulse_members')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.role
}

/** Adds a member, or changes the role of an existing one. */
export async function putMember(db: AccountDb, orgId: string, userId: string, role: Role, at: string): Promise<void> {
  await db
    .insertInto('pulse_members')
    .values({ org_id: orgId, user_id: userId, role, created_at: at })
    .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role }))
    .execute()
}

/** Removes a member; true when there was one. */
export async function deleteMember(db: AccountDb, orgId: string, userId: string): Promise<boolean> {
  const result = await db.deleteFrom('pulse_members').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** How many owners an organization has. */
export async function countOwners(db: AccountDb, orgId: string): Promise<number> {
  const owners = await db.selectFrom('pulse_members').select('user_id').where('org_id', '=', orgId).where('role', '=', 'owner').execute()
  return owners.length
}

/** The members of these organizations, one row per user and organization. */
export async function membersOf(db: AccountDb, orgIds: readonly string[]): Promise<CoMember[]> {
  if (orgIds.length === 0) return []
  return db
    .selectFrom('pulse_members as m')
    .innerJoin('pulse_users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.username', 'u.email', 'm.org_id as orgId'])
    .where('m.org_id', 'in', [...orgIds])
    .orderBy('u.username')
    .execute()
}

const INVITATION_COLUMNS = [
  'i.id',
  'i.org_id as orgId',
  'i.username_key as usernameKey',
  'i.role',
  'i.invited_by as invitedBy',
  'i.created_at as createdAt',
  'i.expires_at as expiresAt',
] as const

/** Creates an invitation, or renews the one this organization already sent to that username. */
export async function putInvitation(db: AccountDb, inv: InvitationRow): Promise<void> {
  const renewed = { role: inv.role, invited_by: inv.invitedBy, created_at: inv.createdAt, expires_at: inv.expiresAt }
  await db
    .insertInto('pulse_invitations')
    .values({ id: inv.id, org_id: inv.orgId, username_key: inv.usernameKey, ...renewed })
    .onConflict((oc) => oc.columns(['org_id', 'username_key']).doUpdateSet(renewed))
    .execute()
}

/** The invitation, if any. */
export function findInvitation(db: AccountDb, id: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('pulse_invitations as i').select(INVITATION_COLUMNS).where('i.id', '=', id).executeTakeFirst()
}

/** Deletes an invitation; true when there was one. */
export async function deleteInvitation(db: AccountDb, id: string): Promise<boolean> {
  return (await db.deleteFrom('pulse_invitations').where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n
}

/** Unexpired invitations to a username, with the organization's name. */
export function invitationsFor(db: AccountDb, usernameKey: string, now: string): Promise<(InvitationRow & { orgName: string })[]> {
  return db
    .selectFrom('pulse_invitations as i')
    .innerJoin('pulse_orgs as o', 'o.id', 'i.org_id')
    .select(INVITATION_COLUMNS)
    .select('o.name as orgName')
    .where('i.username_key', '=', usernameKey)
    .where('i.expires_at', '>', now)
    .orderBy('i.created_at')
    .execute()
}

/** Unexpired invitations an organization sent. */
export function invitationsOf(db: AccountDb, orgId: string, now: string): Promise<InvitationRow[]> {
  return db
    .selectFrom('pulse_invitations as i')
    .select(INVITATION_COLUMNS)
    .where('i.org_id', '=', orgId)
    .where('i.expires_at', '>', now)
    .orderBy('i.created_at')
    .execute()
}

/** Deletes expired invitations. */
export async function purgeExpiredInvitations(db: AccountDb, now: string): Promise<void> {
  await db.deleteFrom('pulse_invitations').where('expires_at', '<=', now).execute()
}
