/**
 * Pull over HTTP and WebSocket attacked (PROTOCOL.md §2–§3, §6, §8): others' cursors, cursors
 * from before a membership change, forged ones and ones ahead of the change order; sockets
 * opened with others' clientIds and dead credentials; and every message a socket receives is
 * checked against the scope of its hello (a change of that scope closes it). When a change
 * revokes sockets, they must close and answer nothing more — not a push sent right after it,
 * not a write another member makes right after it.
 */
import { decodeCursorParts } from '@pulse/core'
import WebSocket from 'ws'
import { MODELS, pluralOf } from './data.ts'
import type { Game, Json } from './game.ts'
import { socketPush } from './moves-push.ts'
import { type Actor, type SocketRef, World } from './world.ts'

/** Most sockets open at once; opening one more closes the oldest. */
const MAX_SOCKETS = 8

type Who = { admin: boolean; orgIds: readonly string[] | ReadonlySet<string>; userId: string | null }

/**
 * Every change must be in the reader's scope (a removal: a scope the record was once in); a
 * record the world does not know, or a version no accepted write made, is a write gone unseen.
 * `exact`: the version is the latest (a pull); else at most the latest (a live message).
 */
function checkChanges(game: Game, who: Who, changes: Json[], where: string, exact: boolean): void {
  const { world } = game
  for (const c of changes) {
    const ref = world.record(String(c.model), String(c.record?.id))
    if (c.removed === true) {
      if (!world.mayHearRemoval(ref, who)) game.fail(`leak: ${where} sent a removal of a record never in the reader's scope`, c)
      continue
    }
    if (!ref) game.fail(`${where} sent a ${c.model} no accepted write made`, c)
    const at = { orgId: c.record.orgId ?? null, ownerId: c.record.ownerId ?? null }
    if (!World.inScope(world.modelScope(ref.model), who, at))
      game.fail(`leak: ${where} sent a ${c.model} out of the reader's scope`, { who, c })
    if (exact ? c.record.version !== ref.version : c.record.version > ref.version)
      game.fail(`${where} sent a ${c.model} at a version no accepted write made`, { ref, c })
  }
  game.count('changes checked')
}

/** A cursor to send, and what the answer must be. */
interface CursorChoice {
  cursor: string | null
  expect: 'ok' | 'scope_changed' | 'bad_request' | 'cursor_expired'
}

function chooseCursor(game: Game, actor: Actor): CursorChoice {
  const { rng, world } = game
  const epoch = world.epochOf(actor)
  const judge = (cursor: string): CursorChoice => {
    const { epoch: issued } = decodeCursorParts(cursor)
    return { cursor, expect: issued !== epoch ? 'scope_changed' : 'ok' }
  }
  const r = rng.next()
  const own = world.cursors.get(World.actorKey(actor))
  if (r < 0.35 && own) return judge(own.cursor)
  const others = [...world.cursors.values()]
  if (r < 0.55 && others.length > 0) return judge((rng.pick(others) as { cursor: string }).cursor)
  if (r < 0.65)
    return {
      cursor: rng.pick(['x', 'c1.', 'c1.-1', 'c2.5', 'c1.zzzzzzzzzzzz', 'c1.5.zzzzzzzzzzzz', 'c1.5.']) as string,
      expect: 'bad_request',
    }
  if (r < 0.72) {
    const highest = Math.max(0, ...others.map((c) => decodeCursorParts(c.cursor).position))
    return { cursor: `c1.${(highest + 100_000).toString(36)}${epoch ? `.${epoch.toString(36)}` : ''}`, expect: 'cursor_expired' }
  }
  return { cursor: null, expect: 'ok' }
}

export async function httpPull(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const choice = chooseCursor(game, actor)
  const params = new URLSearchParams()
  if (choice.cursor !== null) params.set('cursor', choice.cursor)
  let bad = choice.expect === 'bad_request'
  if (rng.chance(0.4)) {
    const limit = rng.pick([1, 2, 5, 50, 5000, 0, 5001, -1]) as number
    params.set('limit', String(limit))
    bad ||= limit < 1 || limit > 5000
  }
  if (rng.chance(0.2)) params.set('models', rng.subset(MODELS, 0.4).join(',') || 'task')
  else if (rng.chance(0.03)) {
    params.set('models', rng.pick(['nope', 'task,', ',']) as string)
    bad = true
  }
  game.note(`${World.actorKey(actor)} PULL ?${params} (expect ${bad ? 'bad_request' : choice.expect})`)
  const res = await game.http(actor, 'GET', `/api/sync/pull?${params}`)
  if (!world.live(actor)) return
  if (bad) {
    // Malformed parts are refused (400, or 404 for an unknown model), unless the cursor was
    // already refused for its own reason (410).
    if (res.status !== 400 && res.status !== 404 && !(res.status === 410 && choice.expect !== 'ok'))
      game.fail(`a forged pull answered ${res.status}`, res.json)
    return
  }
  if (choice.expect === 'scope_changed' || choice.expect === 'cursor_expired') {
    if (res.status !== 410 || res.json.error.code !== choice.expect)
      game.fail(`a pull from ${choice.cursor} answered ${res.status}, not 410 ${choice.expect}`, res.json)
    return
  }
  if (res.status !== 200) game.fail(`a pull answered ${res.status}`, res.json)
  checkChanges(game, world.scopeOf(actor), res.json.changes as Json[], 'a pull', true)
  world.cursors.set(World.actorKey(actor), { cursor: res.json.cursor, epoch: world.epochOf(actor) })
}

/** The scope a socket's hello saw. */
const socketScope = (s: SocketRef): Who => ({ admin: s.admin, orgIds: s.orgIds, userId: s.userId })

/** Checks every message sockets received since the last check. */
export function scanSockets(game: Game): void {
  for (const s of game.world.sockets) {
    const { messages } = s.client
    for (let i = s.checked; i < messages.length; i++) {
      const m = messages[i] as unknown as Json
      const after = s.revokedAt !== undefined && i >= s.revokedAt
      if (m.type === 'changes') {
        checkChanges(game, socketScope(s), m.changes as Json[], 'a socket', false)
        if (after)
          for (const c of m.changes as Json[]) {
            const known = s.revokedVersions?.get(World.key(String(c.model), String(c.record.id)))
            if (known === undefined || (c.record.version ?? 0) > known)
              game.fail('a revoked socket received a change made after its revocation', { socket: World.actorKey(s.actor), c })
          }
      }
      if (m.type === 'pushResult' && after) game.fail('a revoked socket answered a push', m)
      if (m.type === 'error' && m.code === 'internal_error') game.fail('a socket reported internal_error', m)
    }
    s.checked = messages.length
    if (s.revokedAt === undefined && s.client.ws.readyState === WebSocket.CLOSED)
      game.fail(`a socket closed though nothing changed for it (${World.actorKey(s.actor)})`, messages.slice(-3))
  }
}

/** Closes and forgets a socket. */
export function dropSocket(game: Game, s: SocketRef): void {
  scanSockets(game)
  s.revokedAt ??= s.client.messages.length
  s.client.close()
  const i = game.world.sockets.indexOf(s)
  if (i >= 0) game.world.sockets.splice(i, 1)
}

export async function wsOpen(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  if (world.sockets.length >= MAX_SOCKETS) dropSocket(game, world.sockets[0] as SocketRef)
  const others = world.actors().filter((a) => World.clientId(a) !== World.clientId(actor))
  const r = rng.next()
  const foreign = r < 0.05 ? rng.pick(others.filter((a) => a.kind === 'device' || actor.kind === 'device')) : undefined
  const garbage = r >= 0.05 && r < 0.08
  const clientId = foreign ? World.clientId(foreign) : World.clientId(actor)
  const token = garbage ? 'pat_not-a-token' : actor.kind === 'device' ? actor.device.access : actor.token.token
  const choice = chooseCursor(game, actor)
  const models = rng.chance(0.2) ? rng.subset(MODELS, 0.5) : undefined
  const { client, requestId } = await game.socket()
  game.note(`${World.actorKey(actor)} WS hello as ${clientId} cursor ${choice.cursor} models ${models}`)
  client.send({ type: 'hello', token, clientId, cursor: choice.cursor, ...(models && models.length > 0 ? { models } : {}) })
  const refused = garbage || !world.live(actor) ? 4401 : foreign ? 4403 : undefined
  if (refused) {
    const closed = await Promise.race([client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))])
    if (closed?.code !== refused) game.fail(`a hello that must be refused (${refused}) was not`, { closed, messages: client.messages })
    return
  }
  const welcome = await client
    .next((m) => m.type === 'welcome' || m.type === 'error', 10_000)
    .catch((e: unknown) => game.fail(`no welcome: ${e}`))
  if (welcome.type !== 'welcome') game.fail('a live hello was refused', welcome)
  const s: SocketRef = {
    actor,
    client,
    requestId,
    clientId,
    orgIds: new Set(world.orgIdsOf(actor)),
    userId: World.userId(actor),
    admin: world.admin(actor),
    checked: 0,
  }
  world.sockets.push(s)
  const end = await client
    .next((m) => (m.type === 'changes' && !m.hasMore) || m.type === 'error', 10_000)
    .catch((e: unknown) => game.fail(`no end of catch-up: ${e}`, client.messages.slice(-3)))
  const expected = choice.expect === 'ok' ? undefined : choice.expect
  if ((end.type === 'error' ? end.code : undefined) !== expected)
    game.fail(`catch-up from cursor ${choice.cursor} ended with ${JSON.stringify(end).slice(0, 200)}`)
  scanSockets(game)
}

export async function wsPull(game: Game, s: SocketRef): Promise<void> {
  const choice = chooseCursor(game, s.actor)
  const limit = game.rng.chance(0.3) ? game.rng.pick([1, 3, 5000]) : undefined
  game.note(`${World.actorKey(s.actor)} WS pull ${choice.cursor} limit ${limit}`)
  const mark = s.client.messages.length
  // Messages are answered in order: the pull's answer comes before the pong (live changes may
  // come between, so the answer is told apart by the error it carries or does not).
  s.client.send({ type: 'pull', cursor: choice.cursor, ...(limit ? { limit } : {}) })
  s.client.send({ type: 'ping' })
  await s.client.nextOf('pong', 10_000).catch((e: unknown) => game.fail(`no answer to a pull: ${e}`))
  const replies = s.client.messages.slice(mark).filter((m) => m.type === 'changes' || m.type === 'error')
  const error = replies.find((m) => m.type === 'error')
  if (error) await s.client.next((m) => m === error) // taken: a later wait for a push's answer must not see it
  const code = error?.type === 'error' ? error.code : replies.length > 0 ? 'ok' : 'nothing'
  if (code !== choice.expect) game.fail(`a socket pull from ${choice.cursor} answered ${code}, not ${choice.expect}`, replies)
  scanSockets(game)
}

export async function wsPush(game: Game, s: SocketRef): Promise<void> {
  await socketPush(game, s)
  scanSockets(game)
}

/**
 * A change revoked these sockets (`code` is what each must be told). Sometimes, right after the
 * server acknowledged the change, the socket pushes and another member writes to its
 * organization: neither may reach it. Each must then close with 4401 and that error.
 */
export async function settleRevocations(game: Game, revoked: [SocketRef, 'scope_changed' | 'unauthenticated'][]): Promise<void> {
  const { world, rng } = game
  for (const [s] of revoked) {
    // From the last message checked before the change: its error may already have arrived.
    s.revokedAt = s.checked
    s.revokedVersions = new Map([...world.records.entries()].map(([k, r]) => [k, r.version]))
  }
  const probe = rng.pick(revoked)?.[0]
  if (probe && rng.chance(0.5)) {
    const orgId = rng.pick([...probe.orgIds])
    if (orgId) {
      const at = new Date().toISOString()
      const id = game.ghost()
      probe.client.send({
        type: 'push',
        mutations: [
          {
            mid: (world.lastMid.get(probe.clientId) ?? 0) + 1,
            model: 'card',
            op: 'create',
            id,
            vclock: { [probe.clientId]: 1 },
            data: { title: 'after revocation', orgId },
            at,
          },
        ],
      })
      const writer = rng.pick(world.actors().filter((a) => a !== probe.actor && world.live(a) && world.orgIdsOf(a).includes(orgId)))
      if (writer) {
        game.note(`probe: ${World.actorKey(writer)} writes to ${orgId} right after the revocation`)
        const res = await game.http(writer, 'POST', `/api/${pluralOf('card')}`, { title: 'written after a revocation', orgId })
        if (res.status !== 201) game.fail('a member could not write to its organization', res.json)
        game.approve(writer, res.requestId, 'card', res.json, undefined)
      }
    }
  }
  for (const [s, code] of revoked) {
    const closed = await Promise.race([s.client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))])
    if (!closed) game.fail(`a socket stayed open after its access was revoked (${World.actorKey(s.actor)})`, s.client.messages.slice(-3))
    if (closed.code !== 4401) game.fail(`a revoked socket closed with ${closed.code}, not 4401`, closed)
    const told = s.client.messages.slice(s.revokedAt).some((m) => m.type === 'error' && m.code === code)
    if (!told) game.fail(`a revoked socket was not told ${code}`, s.client.messages.slice(s.revokedAt))
    game.count(`sockets revoked (${code})`)
  }
  scanSockets(game)
  for (const [s] of revoked) dropSocket(game, s)
}
