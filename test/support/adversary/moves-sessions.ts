/**
 * Sessions, devices, API tokens and who-sees-whom attacked (PROTOCOL.md §9): logout, refresh
 * rotation and replays of rotated tokens, removing one's own and others' devices, revoking API
 * tokens, and the identity reads (me, my organizations, co-members and their emails, devices)
 * compared with the reference. A credential the world says is dead must be refused everywhere
 * (checked by `Game.http`), and its sockets must close (`settleRevocations`).
 */
import type { Game, Json } from './game.ts'
import { settleRevocations } from './moves-sync.ts'
import { type Actor, type DeviceRef, type TokenRef, type UserRef, World } from './world.ts'

export const PASSWORD = 'correct horse battery staple'

/** Logs a user in, on an existing device (its id) or a new one; returns the device. */
export async function login(game: Game, user: UserRef, existing?: DeviceRef): Promise<DeviceRef> {
  const res = await game.http(null, 'POST', '/api/auth/login', {
    username: user.name,
    password: PASSWORD,
    ...(existing && !existing.removed ? { deviceId: existing.id } : { deviceName: `device ${game.rng.word()}` }),
  })
  if (res.status !== 200) game.fail(`login of ${user.name} answered ${res.status}`, res.json)
  if (existing && !existing.removed) {
    if (res.json.device.id !== existing.id) game.fail('a login naming my device made another', res.json.device)
    Object.assign(existing, { access: res.json.access, refresh: res.json.refresh, alive: true, family: existing.family + 1 })
    return existing
  }
  const device: DeviceRef = {
    user,
    id: res.json.device.id,
    access: res.json.access,
    refresh: res.json.refresh,
    family: 0,
    used: [],
    alive: true,
    removed: false,
  }
  user.devices.push(device)
  return device
}

/** The actor, signed in again first when its device was signed out (a removed one is replaced). */
export async function ensureLive(game: Game, actor: Actor): Promise<Actor> {
  if (actor.kind !== 'device' || actor.device.alive) return actor
  const device = await login(game, actor.device.user, actor.device)
  return { kind: 'device', device }
}

/** A signed-in device of the user (signing in again, or on a new device, when need be). */
export async function deviceOf(game: Game, user: UserRef): Promise<Actor> {
  const device = user.devices.find((d) => !d.removed)
  return device ? ensureLive(game, { kind: 'device', device }) : { kind: 'device', device: await login(game, user) }
}

/** Closes the sockets of a device whose sessions ended. */
async function sessionEnded(game: Game, device: DeviceRef): Promise<void> {
  device.alive = false
  const sockets = game.world.sockets.filter((s) => s.revokedAt === undefined && s.actor.kind === 'device' && s.actor.device === device)
  if (sockets.length > 0)
    await settleRevocations(
      game,
      sockets.map((s) => [s, 'unauthenticated']),
    )
}

/** Mostly a device with an open socket (whose sessions ending must close it), else the actor's. */
function watchedDevice(game: Game, actor: Actor): DeviceRef | undefined {
  const { world, rng } = game
  const watched = world.sockets.flatMap((s) =>
    s.actor.kind === 'device' && s.actor.device.alive && s.revokedAt === undefined ? [s.actor.device] : [],
  )
  return (rng.chance(0.6) ? rng.pick(watched) : undefined) ?? (actor.kind === 'device' ? actor.device : undefined)
}

export async function logout(game: Game, actor: Actor): Promise<void> {
  const device = watchedDevice(game, actor)
  if (!device) return
  const garbage = game.rng.chance(0.15)
  game.note(`${device.user.name}/${device.id} LOGOUT${garbage ? ' (garbage token)' : ''}`)
  const res = await game.http(null, 'POST', '/api/auth/logout', { refresh: garbage ? 'prt_nothing' : device.refresh })
  if (res.status !== 204) game.fail(`logout answered ${res.status}`, res.json)
  if (!garbage && device.alive) await sessionEnded(game, device)
}

export async function refresh(game: Game, actor: Actor): Promise<void> {
  const device = watchedDevice(game, actor)
  if (!device) return
  const replay = game.rng.pick(device.used)
  if (replay && game.rng.chance(0.3)) {
    game.note(`${device.user.name}/${device.id} REPLAYS a rotated refresh token (family ${replay.family}, current ${device.family})`)
    const res = await game.http(null, 'POST', '/api/auth/refresh', { refresh: replay.token })
    if (res.status !== 401) game.fail(`a replayed refresh token answered ${res.status}`, res.json)
    // A replay revokes its own family: the device is signed out if that family is its current one.
    if (replay.family === device.family && device.alive) await sessionEnded(game, device)
    return
  }
  game.note(`${device.user.name}/${device.id} REFRESH`)
  const res = await game.http(null, 'POST', '/api/auth/refresh', { refresh: device.refresh })
  if (res.status !== (device.alive ? 200 : 401)) game.fail(`a refresh answered ${res.status}`, res.json)
  if (res.status !== 200) return
  device.used.push({ token: device.refresh, family: device.family })
  device.refresh = res.json.refresh
  device.access = res.json.access
}

export async function removeDevice(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const own = actor.kind === 'device' ? actor.device.user.devices.filter((d) => !d.removed) : []
  const others = world.users.flatMap((u) => u.devices).filter((d) => !own.includes(d))
  const r = rng.next()
  const target = r < 0.5 ? rng.pick(own) : r < 0.85 ? rng.pick(others) : undefined
  const id = target?.id ?? `dev_${rng.word()}${rng.word()}`
  const mine = target !== undefined && own.includes(target)
  game.note(`${World.actorKey(actor)} REMOVE DEVICE ${id} (${mine ? 'mine' : 'not mine'})`)
  const res = await game.http(actor, 'DELETE', `/api/devices/${id}`)
  if (!world.live(actor)) return
  if (res.status !== (mine ? 204 : 404)) game.fail(`removing a device answered ${res.status}`, res.json)
  if (!mine) {
    const ghost = `dev_${rng.word()}${rng.word()}`
    game.same('removing a device', res, [id], await game.http(actor, 'DELETE', `/api/devices/${ghost}`), [ghost])
    return
  }
  const device = target as DeviceRef
  device.removed = true
  if (device.alive) await sessionEnded(game, device)
}

/** Another device of the actor's user (a second login). */
export async function addDevice(game: Game, actor: Actor): Promise<void> {
  if (actor.kind !== 'device' || actor.device.user.devices.filter((d) => !d.removed).length >= 3) return
  game.note(`${actor.device.user.name} logs in on another device`)
  await login(game, actor.device.user)
}

export async function revokeToken(game: Game): Promise<void> {
  const { world, rng } = game
  const watched = world.sockets.flatMap((s) =>
    s.actor.kind === 'token' && !s.actor.token.revoked && s.revokedAt === undefined ? [s.actor.token] : [],
  )
  const token =
    (rng.chance(0.5) ? rng.pick(watched) : undefined) ??
    rng.pick(world.tokens.filter((t) => !t.revoked && !t.admin)) ??
    rng.pick(world.tokens.filter((t) => !t.revoked))
  if (!token) return
  game.note(`REVOKE token ${token.id}`)
  const accounts = game.server.accounts
  if (!accounts) throw new Error('accounts are on')
  await accounts.revokeApiToken(token.id)
  token.revoked = true
  const sockets = world.sockets.filter((s) => s.revokedAt === undefined && s.actor.kind === 'token' && s.actor.token === token)
  if (sockets.length > 0)
    await settleRevocations(
      game,
      sockets.map((s) => [s, 'unauthenticated']),
    )
}

/** A new API token: for an organization (sharing its service clientId, as a rotation does, or not), or admin. */
export async function newToken(game: Game, admin = false): Promise<TokenRef | undefined> {
  const { world, rng } = game
  const org = admin ? undefined : rng.pick(world.liveOrgs())
  if (!admin && !org) return undefined
  const accounts = game.server.accounts
  if (!accounts) throw new Error('accounts are on')
  const created = await accounts.createApiToken(org ? { name: `svc ${rng.word()}`, orgId: org.id } : { name: 'ops', admin: true })
  const sibling = world.tokens.find((t) => t.orgId === (org?.id ?? null) && t.admin === admin)
  const clientId = sibling && rng.chance(0.5) ? sibling.clientId : `${admin ? 'adm' : 'svc'}-${rng.word()}${rng.word()}`
  const token: TokenRef = { id: created.row.id, token: created.token, orgId: org?.id ?? null, admin, revoked: false, clientId }
  world.tokens.push(token)
  game.note(`NEW ${admin ? 'admin ' : ''}token ${token.id} for ${org?.id ?? 'admin'} as ${clientId}`)
  return token
}

/** Me, my organizations, my co-members (emails only where §9 shows them) and my devices. */
export async function identity(game: Game, actor: Actor): Promise<void> {
  const { world } = game
  game.note(`${World.actorKey(actor)} IDENTITY reads`)
  const user = actor.kind === 'device' ? actor.device.user : undefined
  const orgs = world.liveOrgs().filter((o) => user && o.members.has(user.id))
  const expectedOrgs = orgs.map((o) => `${o.id}:${o.members.get(user?.id ?? '')}`).sort()
  const listed = await game.http(actor, 'GET', '/api/orgs')
  if (!world.live(actor)) return
  const gotOrgs = (listed.json.items as Json[]).map((o) => `${o.id}:${o.role}`).sort()
  if (JSON.stringify(gotOrgs) !== JSON.stringify(expectedOrgs))
    game.fail('GET /api/orgs differs from my memberships', { gotOrgs, expectedOrgs })
  const me = await game.http(actor, 'GET', '/api/users/me')
  if (me.status !== (user ? 200 : 403)) game.fail(`GET /api/users/me answered ${me.status}`, me.json)
  if (user && JSON.stringify((me.json.orgs as Json[]).map((o) => `${o.id}:${o.role}`).sort()) !== JSON.stringify(expectedOrgs))
    game.fail('GET /api/users/me shows other organizations', me.json)
  // Co-members: the members of the caller's organizations; an email only to the user, to
  // owners and admins of an organization the two share, and to server admins.
  const viewerOrgs = world
    .orgIdsOf(actor)
    .map((id) => world.orgs.get(id))
    .filter((o) => o !== undefined)
  const expected = new Map<string, string | null>()
  for (const o of viewerOrgs)
    for (const memberId of o.members.keys()) {
      const m = world.users.find((u) => u.id === memberId) as UserRef
      const shows =
        world.admin(actor) ||
        m === user ||
        (user !== undefined && (o.members.get(user.id) === 'owner' || o.members.get(user.id) === 'admin'))
      if (shows || !expected.has(m.id)) expected.set(m.id, shows ? m.email : (expected.get(m.id) ?? null))
    }
  const users = await game.http(actor, 'GET', '/api/users')
  const got = new Map((users.json.items as Json[]).map((u) => [String(u.id), (u.email ?? null) as string | null]))
  const sorted = (m: Map<string, string | null>) => JSON.stringify([...m.entries()].sort())
  if (sorted(got) !== sorted(expected))
    game.fail('leak: GET /api/users shows other users or emails than §9 allows', { got: [...got], expected: [...expected] })
  const devices = await game.http(actor, 'GET', '/api/devices')
  const mineIds = (user?.devices ?? [])
    .filter((d) => !d.removed)
    .map((d) => d.id)
    .sort()
  const gotIds = (devices.json.items as Json[]).map((d) => String(d.id)).sort()
  if (JSON.stringify(gotIds) !== JSON.stringify(mineIds)) game.fail('GET /api/devices shows other devices than mine', { gotIds, mineIds })
  game.count('identity checks')
}
