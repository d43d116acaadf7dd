/**
 * Organizations, memberships and invitations attacked (PROTOCOL.md §9): every call made by
 * owners, admins, members, outsiders, API tokens and server admins, on their own organization,
 * another one, a deleted one and one that never existed. The expected answer follows the rules
 * of §9 (standing, owner rules, last owner); an outsider's answer must equal the answer for an
 * organization (invitation, user) that does not exist. Changes of memberships close the sockets
 * concerned (checked by `settleRevocations`).
 */
import type { Answer, Game, Json } from './game.ts'
import { settleRevocations } from './moves-sync.ts'
import { type Actor, type OrgRef, type Role, type SocketRef, type UserRef, World } from './world.ts'

type Standing = Role | 'server_admin' | 'none'

/** The actor's standing in an organization (`none`: the answer is that of an absent one). */
function standing(game: Game, actor: Actor, org: OrgRef | undefined): Standing {
  if (!org || org.deleted) return 'none'
  if (game.world.admin(actor)) return 'server_admin'
  return game.world.roleOf(World.userId(actor), org.id) ?? 'none'
}

const manages = (s: Standing) => s === 'owner' || s === 'admin' || s === 'server_admin'
const managesOwners = (s: Standing) => s === 'owner' || s === 'server_admin'

/** An organization to aim at: mostly the actor's, sometimes another, a deleted one or none. */
function pickOrg(game: Game, actor: Actor): { id: string; org: OrgRef | undefined } {
  const { rng, world } = game
  const all = [...world.orgs.values()]
  const mine = all.filter((o) => !o.deleted && o.members.has(World.userId(actor) ?? ''))
  const r = rng.next()
  const org = r < 0.6 ? rng.pick(mine) : r < 0.85 ? rng.pick(all.filter((o) => !o.deleted)) : r < 0.93 ? rng.pick(all) : undefined
  return org ? { id: org.id, org } : { id: game.ghost(), org: undefined }
}

function expectStatus(game: Game, what: string, res: Answer, status: number): void {
  if (res.status !== status) game.fail(`${what} answered ${res.status}, expected ${status}`, res.json)
}

/** Closes the sockets of users whose memberships changed (their epochs rise, §8). */
export async function membershipChanged(game: Game, users: UserRef[], tokenIds: string[] = []): Promise<void> {
  for (const u of users) u.epoch += 1
  const ids = users.map((u) => u.id)
  const revoked: [SocketRef, 'scope_changed' | 'unauthenticated'][] = game.world.sockets
    .filter((s) => s.revokedAt === undefined)
    .flatMap((s): [SocketRef, 'scope_changed' | 'unauthenticated'][] => {
      if (s.actor.kind === 'token' && tokenIds.includes(s.actor.token.id)) return [[s, 'unauthenticated']]
      return s.userId !== null && ids.includes(s.userId) ? [[s, 'scope_changed']] : []
    })
  if (revoked.length > 0) await settleRevocations(game, revoked)
}

const userById = (game: Game, id: string) => game.world.users.find((u) => u.id === id) as UserRef

export async function createOrg(game: Game, actor: Actor): Promise<void> {
  const name = game.rng.pick([`org ${game.rng.word()}`, `org ${game.rng.word()}`, '', ' ', 'x'.repeat(201), 'nul\u0000']) as string
  game.note(`${World.actorKey(actor)} CREATE ORG ${JSON.stringify(name).slice(0, 40)}`)
  const res = await game.http(actor, 'POST', '/api/orgs', { name })
  if (!game.world.live(actor)) return
  const valid = name.trim() !== '' && name.length <= 200 && !name.includes('\u0000')
  expectStatus(game, 'creating an organization', res, actor.kind === 'token' ? 403 : valid ? 201 : 422)
  if (res.status !== 201 || actor.kind !== 'device') return
  const user = actor.device.user
  game.world.orgs.set(res.json.id, { id: res.json.id, name, members: new Map([[user.id, 'owner']]), deleted: false })
  await membershipChanged(game, [user])
}

export async function deleteOrg(game: Game, actor: Actor): Promise<void> {
  const { id, org } = pickOrg(game, actor)
  const s = standing(game, actor, org)
  game.note(`${World.actorKey(actor)} DELETE ORG ${id} (${s})`)
  const res = await game.http(actor, 'DELETE', `/api/orgs/${id}`)
  if (!game.world.live(actor)) return
  expectStatus(game, `deleting an organization as ${s}`, res, s === 'none' ? 404 : managesOwners(s) ? 204 : 403)
  if (s === 'none' && org) {
    const ghost = game.ghost()
    game.same('deleting an organization', res, [id], await game.http(actor, 'DELETE', `/api/orgs/${ghost}`), [ghost])
  }
  if (res.status === 204 && org) await orgDeleted(game, org)
}

/** The world after an organization was deleted: members out, invitations gone, its tokens revoked. */
export async function orgDeleted(game: Game, org: OrgRef): Promise<void> {
  org.deleted = true
  const members = [...org.members.keys()].map((id) => userById(game, id))
  org.members.clear()
  for (const inv of game.world.invitations.values()) if (inv.orgId === org.id) inv.open = false
  const tokens = game.world.tokens.filter((t) => t.orgId === org.id && !t.revoked)
  for (const t of tokens) t.revoked = true
  await membershipChanged(
    game,
    members,
    tokens.map((t) => t.id),
  )
}

export async function invite(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const { id, org } = pickOrg(game, actor)
  const target = rng.chance(0.75) ? rng.pick(world.users) : undefined
  const username = target
    ? rng.chance(0.2)
      ? target.name.toUpperCase()
      : target.name
    : (rng.pick([`nobody-${rng.word()}`, 'x', 'bad name!']) as string)
  const role = rng.weighted<string>([
    [6, 'member'],
    [3, 'admin'],
    [2, 'owner'],
    [1, 'king'],
  ])
  const s = standing(game, actor, org)
  game.note(`${World.actorKey(actor)} INVITE ${username} as ${role} to ${id} (${s})`)
  const res = await game.http(actor, 'POST', `/api/orgs/${id}/invitations`, { username, role })
  if (!world.live(actor)) return
  const validName = /^[A-Za-z0-9_.@-]{3,64}$/.test(username)
  const member = target && org ? org.members.has(target.id) : false
  const expected =
    !validName || role === 'king'
      ? 422
      : s === 'none'
        ? 404
        : !manages(s)
          ? 403
          : role === 'owner' && !managesOwners(s)
            ? 403
            : member
              ? 409
              : 201
  expectStatus(game, `inviting as ${s}`, res, expected)
  if (expected === 404 && org) {
    const ghost = game.ghost()
    game.same(
      'inviting to an organization',
      res,
      [id],
      await game.http(actor, 'POST', `/api/orgs/${ghost}/invitations`, { username, role }),
      [ghost],
    )
  }
  if (res.status !== 201 || !org) return
  const key = username.toLowerCase()
  const renewed = [...world.invitations.values()].find((i) => i.open && i.orgId === org.id && i.username === key)
  if (renewed && renewed.id !== res.json.id) game.fail('a renewed invitation changed its id', { renewed, res: res.json })
  world.invitations.set(res.json.id, { id: res.json.id, orgId: org.id, username: key, role: role as Role, open: true })
  // Whether such a user exists does not show: an invitation to a name nobody holds answers alike.
  if (target && rng.chance(0.3)) {
    const ghost = `nobody-${rng.word()}`
    const other = await game.http(actor, 'POST', `/api/orgs/${id}/invitations`, { username: ghost, role })
    const blank = (a: Answer) => ({ ...a, json: { ...a.json, createdAt: '', expiresAt: '' } })
    game.same('an invitation', blank(res), [res.json.id, key], blank(other), [other.json.id, ghost])
    world.invitations.set(other.json.id, { id: other.json.id, orgId: org.id, username: ghost, role: role as Role, open: true })
  }
}

/** Accepts or declines an invitation: one addressed to the actor, someone else's, a closed one, or none. */
export async function answerInvitation(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const user = actor.kind === 'device' ? actor.device.user : undefined
  const all = [...world.invitations.values()]
  const mine = all.filter((i) => i.open && user && i.username === user.name.toLowerCase())
  const inv = rng.chance(0.7) ? rng.pick(mine) : rng.pick(all)
  const id = inv?.id ?? game.ghost()
  const accept = rng.chance(0.75)
  const org = inv ? world.orgs.get(inv.orgId) : undefined
  const valid = inv?.open === true && user !== undefined && inv.username === user.name.toLowerCase() && org?.deleted === false
  game.note(`${World.actorKey(actor)} ${accept ? 'ACCEPT' : 'DECLINE'} ${id} (${valid ? 'mine' : 'not mine'})`)
  const path = `/api/invitations/${id}/${accept ? 'accept' : 'decline'}`
  const res = await game.http(actor, 'POST', path)
  if (!world.live(actor)) return
  expectStatus(game, `${accept ? 'accepting' : 'declining'} an invitation`, res, !valid ? 404 : accept ? 200 : 204)
  if (!valid) {
    const ghost = game.ghost()
    game.same('answering an invitation', res, [id], await game.http(actor, 'POST', path.replace(id, ghost)), [ghost])
    return
  }
  const invitation = inv as NonNullable<typeof inv>
  invitation.open = false
  if (!accept || !user || !org) return
  const current = org.members.get(user.id)
  if (res.json.orgId !== org.id || res.json.role !== (current ?? invitation.role))
    game.fail('an accepted invitation gave another role', { res: res.json, invitation, current })
  if (current) return
  org.members.set(user.id, invitation.role)
  await membershipChanged(game, [user])
}

export async function listInvitations(game: Game, actor: Actor): Promise<void> {
  const { world } = game
  const { id, org } = pickOrg(game, actor)
  const s = standing(game, actor, org)
  game.note(`${World.actorKey(actor)} LIST INVITATIONS of me and of ${id} (${s})`)
  const mine = await game.http(actor, 'GET', '/api/invitations')
  if (!world.live(actor)) return
  const name = actor.kind === 'device' ? actor.device.user.name.toLowerCase() : undefined
  const expected = [...world.invitations.values()].filter((i) => i.open && i.username === name && !world.orgs.get(i.orgId)?.deleted)
  const got = (mine.json.items as Json[]).map((i) => i.id).sort()
  if (JSON.stringify(got) !== JSON.stringify(expected.map((i) => i.id).sort()))
    game.fail('my invitations are not the ones addressed to me', { got, expected })
  const sent = await game.http(actor, 'GET', `/api/orgs/${id}/invitations`)
  expectStatus(game, `listing an organization's invitations as ${s}`, sent, s === 'none' ? 404 : manages(s) ? 200 : 403)
  if (sent.status === 200 && org) {
    const want = [...world.invitations.values()]
      .filter((i) => i.open && i.orgId === org.id)
      .map((i) => i.id)
      .sort()
    const have = (sent.json.items as Json[]).map((i) => i.id).sort()
    if (JSON.stringify(want) !== JSON.stringify(have)) game.fail('an organization lists other invitations than it sent', { want, have })
  }
  if (s === 'none' && org) {
    const ghost = game.ghost()
    game.same("listing an organization's invitations", sent, [id], await game.http(actor, 'GET', `/api/orgs/${ghost}/invitations`), [ghost])
  }
}

export async function cancelInvitation(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const { id, org } = pickOrg(game, actor)
  const inv = rng.pick([...world.invitations.values()].slice(-20))
  const invId = inv?.id ?? game.ghost()
  const s = standing(game, actor, org)
  const ours = inv?.open === true && inv.orgId === id
  game.note(`${World.actorKey(actor)} CANCEL invitation ${invId} of ${id} (${s}, ${ours ? 'ours' : 'not ours'})`)
  const res = await game.http(actor, 'DELETE', `/api/orgs/${id}/invitations/${invId}`)
  if (!world.live(actor)) return
  expectStatus(game, `cancelling an invitation as ${s}`, res, s === 'none' ? 404 : !manages(s) ? 403 : ours ? 204 : 404)
  if (res.status === 404 && inv) {
    const ghost = game.ghost()
    game.same('cancelling an invitation', res, [invId], await game.http(actor, 'DELETE', `/api/orgs/${id}/invitations/${ghost}`), [ghost])
  }
  if (res.status === 204 && inv) inv.open = false
}

export async function removeMember(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const { id, org } = pickOrg(game, actor)
  const self = World.userId(actor)
  const r = rng.next()
  const members = org ? [...org.members.keys()] : []
  const watched = members.filter((m) => world.sockets.some((s) => s.userId === m && s.revokedAt === undefined))
  const userId =
    (r < 0.3 ? self : r < 0.55 ? rng.pick(watched) : r < 0.8 ? rng.pick(members) : r < 0.9 ? rng.pick(world.users)?.id : undefined) ??
    game.ghost()
  const s = standing(game, actor, org)
  const before = org?.members.get(userId)
  const owners = org ? [...org.members.values()].filter((x) => x === 'owner').length : 0
  const expected =
    s === 'none'
      ? 404
      : userId !== self && !manages(s)
        ? 403
        : !before
          ? 404
          : before === 'owner' && (!managesOwners(s) || owners <= 1)
            ? 403
            : 204
  game.note(`${World.actorKey(actor)} REMOVE ${userId === self ? 'self' : userId} (${before}) from ${id} (${s})`)
  const res = await game.http(actor, 'DELETE', `/api/orgs/${id}/members/${userId}`)
  if (!world.live(actor)) return
  expectStatus(game, `removing a ${before ?? 'non-'}member as ${s}`, res, expected)
  if (res.status === 404) {
    const ghost = game.ghost()
    const absent = s === 'none' ? `/api/orgs/${ghost}/members/${userId}` : `/api/orgs/${id}/members/${ghost}`
    game.same('removing a member', res, [s === 'none' ? id : userId], await game.http(actor, 'DELETE', absent), [ghost])
  }
  if (res.status !== 204 || !org) return
  org.members.delete(userId)
  await membershipChanged(game, [userById(game, userId)])
}

export async function setRole(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const { id, org } = pickOrg(game, actor)
  const target = rng.chance(0.85) ? rng.pick(world.users) : undefined
  const username = target?.name ?? `nobody-${rng.word()}`
  const role = rng.pick(['member', 'admin', 'owner', 'member']) as Role
  const s = standing(game, actor, org)
  const before = target && org ? org.members.get(target.id) : undefined
  const owners = org ? [...org.members.values()].filter((x) => x === 'owner').length : 0
  const ownerTouched = before === 'owner' || role === 'owner'
  let expected: number
  if (s === 'none') expected = 404
  else if (!manages(s)) expected = 403
  else if (before) expected = ownerTouched && !managesOwners(s) ? 403 : before === 'owner' && role !== 'owner' && owners <= 1 ? 403 : 200
  else if (s === 'server_admin') expected = target ? 201 : 404
  else expected = 403
  game.note(`${World.actorKey(actor)} SET ROLE ${username} (${before}) → ${role} in ${id} (${s})`)
  const res = await game.http(actor, 'POST', `/api/orgs/${id}/members`, { username, role })
  if (!world.live(actor)) return
  expectStatus(game, `setting a ${before ?? 'non-'}member's role as ${s}`, res, expected)
  if (expected === 403 && !before && target) {
    const ghost = `nobody-${rng.word()}`
    const other = await game.http(actor, 'POST', `/api/orgs/${id}/members`, { username: ghost, role })
    game.same("setting a non-member's role", res, [username], other, [ghost])
  }
  if (!org || !target) return
  if (res.status === 200) org.members.set(target.id, role)
  if (res.status === 201) {
    org.members.set(target.id, role)
    await membershipChanged(game, [target])
  }
}
