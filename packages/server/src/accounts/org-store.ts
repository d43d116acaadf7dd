/** Reads and writes of organizations, memberships and invitations (PROTOCOL.md §9). */
import type { SqlContext } from '../storage/sql-executor.ts'
import { rows, run, str } from './account-sql.ts'
import { ACCOUNT_TABLES as T } from './account-tables.ts'

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
export async function membershipsOf(ctx: SqlContext, userId: string): Promise<Membership[]> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.members} as m`)
      .innerJoin(`${T.orgs} as o`, 'o.id', 'm.org_id')
      .select(['m.org_id as org_id', 'o.name as name', 'm.role as role'])
      .where('m.user_id', '=', userId)
      .orderBy('o.name'),
  )
  return found.map((r) => ({ orgId: String(r.org_id), name: String(r.name), role: String(r.role) as Role }))
}

/** Creates an organization. */
export async function insertOrg(ctx: SqlContext, org: { id: string; name: string; createdAt: string }): Promise<void> {
  await run(ctx, ctx.dialect.builder.insertInto(T.orgs).values({ id: org.id, name: org.name, created_at: org.createdAt }))
}

/** The organization, if any. */
export async function findOrg(ctx: SqlContext, id: string): Promise<{ id: string; name: string } | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.orgs).selectAll().where('id', '=', id))
  return r ? { id: String(r.id), name: String(r.name) } : undefined
}

/** Deletes an organization with its memberships and invitations; returns the former members' ids. */
export async function deleteOrg(ctx: SqlContext, id: string): Promise<string[]> {
  const { builder } = ctx.dialect
  const members = await rows(ctx, builder.deleteFrom(T.members).where('org_id', '=', id).returning('user_id'))
  await run(ctx, builder.deleteFrom(T.invitations).where('org_id', '=', id))
  await run(ctx, builder.deleteFrom(T.orgs).where('id', '=', id))
  return members.map((r) => String(r.user_id))
}

/** A user's role in an organization, if a member. */
export async function roleIn(ctx: SqlContext, orgId: string, userId: string): Promise<Role | undefined> {
  const [r] = await rows(
    ctx,
    ctx.dialect.builder.selectFrom(T.members).select('role').where('org_id', '=', orgId).where('user_id', '=', userId),
  )
  return r ? (String(r.role) as Role) : undefined
}

/** Adds a member, or changes the role of an existing one. */
export async function putMember(ctx: SqlContext, orgId: string, userId: string, role: Role, at: string): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder
      .insertInto(T.members)
      .values({ org_id: orgId, user_id: userId, role, created_at: at })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role })),
  )
}

/** Removes a member; true when there was one. */
export async function deleteMember(ctx: SqlContext, orgId: string, userId: string): Promise<boolean> {
  const found = await rows(
    ctx,
    ctx.dialect.builder.deleteFrom(T.members).where('org_id', '=', orgId).where('user_id', '=', userId).returning('user_id'),
  )
  return found.length > 0
}

/** How many owners an organization has. */
export async function countOwners(ctx: SqlContext, orgId: string): Promise<number> {
  const found = await rows(
    ctx,
    ctx.dialect.builder.selectFrom(T.members).select('user_id').where('org_id', '=', orgId).where('role', '=', 'owner'),
  )
  return found.length
}

/** The members of these organizations, one row per user and organization. */
export async function membersOf(ctx: SqlContext, orgIds: readonly string[]): Promise<CoMember[]> {
  if (orgIds.length === 0) return []
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.members} as m`)
      .innerJoin(`${T.users} as u`, 'u.id', 'm.user_id')
      .select(['u.id as id', 'u.username as username', 'u.email as email', 'm.org_id as org_id'])
      .where('m.org_id', 'in', [...orgIds])
      .orderBy('u.username'),
  )
  return found.map((r) => ({ id: String(r.id), username: String(r.username), email: str(r.email), orgId: String(r.org_id) }))
}

function toInvitation(r: Record<string, unknown>): InvitationRow {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    usernameKey: String(r.username_key),
    role: String(r.role) as Role,
    invitedBy: str(r.invited_by),
    createdAt: String(r.created_at),
    expiresAt: String(r.expires_at),
  }
}

/** Creates an invitation, or renews the one this organization already sent to that username. */
export async function putInvitation(ctx: SqlContext, inv: InvitationRow): Promise<void> {
  await run(
    ctx,
    ctx.dialect.builder
      .insertInto(T.invitations)
      .values({
        id: inv.id,
        org_id: inv.orgId,
        username_key: inv.usernameKey,
        role: inv.role,
        invited_by: inv.invitedBy,
        created_at: inv.createdAt,
        expires_at: inv.expiresAt,
      })
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'username_key'])
          .doUpdateSet({ role: inv.role, invited_by: inv.invitedBy, created_at: inv.createdAt, expires_at: inv.expiresAt }),
      ),
  )
}

/** The invitation, if any. */
export async function findInvitation(ctx: SqlContext, id: string): Promise<InvitationRow | undefined> {
  const [r] = await rows(ctx, ctx.dialect.builder.selectFrom(T.invitations).selectAll().where('id', '=', id))
  return r ? toInvitation(r) : undefined
}

/** Deletes an invitation; true when there was one. */
export async function deleteInvitation(ctx: SqlContext, id: string): Promise<boolean> {
  return (await rows(ctx, ctx.dialect.builder.deleteFrom(T.invitations).where('id', '=', id).returning('id'))).length > 0
}

/** Unexpired invitations to a username, with the organization's name. */
export async function invitationsFor(ctx: SqlContext, usernameKey: string, now: string): Promise<(InvitationRow & { orgName: string })[]> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(`${T.invitations} as i`)
      .innerJoin(`${T.orgs} as o`, 'o.id', 'i.org_id')
      .selectAll('i')
      .select('o.name as org_name')
      .where('i.username_key', '=', usernameKey)
      .where('i.expires_at', '>', now)
      .orderBy('i.created_at'),
  )
  return found.map((r) => ({ ...toInvitation(r), orgName: String(r.org_name) }))
}

/** Unexpired invitations an organization sent. */
export async function invitationsOf(ctx: SqlContext, orgId: string, now: string): Promise<InvitationRow[]> {
  const found = await rows(
    ctx,
    ctx.dialect.builder
      .selectFrom(T.invitations)
      .selectAll()
      .where('org_id', '=', orgId)
      .where('expires_at', '>', now)
      .orderBy('created_at'),
  )
  return found.map(toInvitation)
}

/** Deletes expired invitations. */
export async function purgeExpiredInvitations(ctx: SqlContext, now: string): Promise<void> {
  await run(ctx, ctx.dialect.builder.deleteFrom(T.invitations).where('expires_at', '<=', now))
}
