/**
 * Pushes attacked (PROTOCOL.md §4–§5), over HTTP and over a socket: creates in others'
 * organizations and with taken ids, updates and deletes of others' records (each answered like
 * its twin aimed at a record that does not exist), forged vector clocks, others' clientIds,
 * replayed pushes (duplicates must show only records in scope now).
 */
import { createBody, MODELS, updateBody } from './data.ts'
import type { Game, Json } from './game.ts'
import { checkIdTaken, mineFor, pickTarget } from './moves-rest.ts'
import { type Actor, type RecordRef, type SocketRef, World } from './world.ts'

const MAX = Number.MAX_SAFE_INTEGER

/** One planned mutation and what the checks need to know about it. */
interface Planned {
  mutation: Json
  model: string
  /** The record it names as the world knew it when planned (re-read when its result comes). */
  id: string
  /** Aimed at a record out of scope (or absent): its result must equal its twin's. */
  outOfScope: boolean
  /** This is the twin (a ghost id) of the mutation before it. */
  twin: boolean
  /** The answer it got when first pushed (kept for a replay). */
  first?: Json
}

/** Who owns a clientId once it pushed (§4): a user's devices, a service's organization, the admin tokens. */
export function clientOwner(actor: Actor): string {
  if (actor.kind === 'device') return `user:${actor.device.user.id}`
  if (actor.token.admin) return 'admin'
  return actor.token.orgId ? `org:${actor.token.orgId}` : `token:${actor.token.id}`
}

/** The last push body per clientId, for replays. */
const lastPushes = new WeakMap<object, Map<string, Planned[]>>()

function vclockFor(game: Game, clientId: string, ref: RecordRef | undefined): Record<string, number> {
  const { rng } = game
  const base = ref ? { ...ref.vclock } : {}
  const own = (base[clientId] ?? 0) + 1
  const r = rng.next()
  if (r < 0.1) return { ...base, [clientId]: own, [rng.pick(Object.keys(base)) ?? 'dev_someone']: MAX }
  if (r < 0.15) return { ...base, [clientId]: own, server: (base.server ?? 0) + 3 }
  if (r < 0.25) return { [clientId]: rng.chance(0.5) ? MAX : own }
  return { ...base, [clientId]: own }
}

/** Plans 1–4 mutations as `actor` pushing as `clientId`, twins included; rarely one with an odd mid. */
function plan(game: Game, actor: Actor, clientId: string, oddMids = true): Planned[] {
  const { rng, world } = game
  let mid = world.lastMid.get(clientId) ?? 0
  const out: Planned[] = []
  const count = rng.int(1, 4)
  for (let i = 0; i < count; i++) {
    const op = rng.weighted([
      [4, 'create'],
      [4, 'update'],
      [2, 'delete'],
    ] as const)
    const at = new Date().toISOString()
    if (op === 'create') {
      const model = rng.pick(MODELS) as string
      const gen = createBody(model, rng, world, mineFor(game, actor, model))
      const taken = rng.chance(0.2) ? pickTarget(game, model) : undefined
      const id = taken?.ref ? taken.ref.id : game.ghost()
      const ref = world.record(model, id)
      mid += 1
      out.push({
        mutation: { mid, model, op, id, vclock: rng.chance(0.1) ? { [clientId]: 1, dev_other: 2 } : { [clientId]: 1 }, data: gen.data, at },
        model,
        id,
        outOfScope: ref !== undefined && !world.sees(actor, ref),
        twin: false,
      })
      continue
    }
    const t = pickTarget(game)
    const id = t.id.toLowerCase()
    const ref = world.record(t.model, id)
    const mutation: Json = {
      mid: ++mid,
      model: t.model,
      op,
      id,
      vclock: vclockFor(game, clientId, ref),
      at,
      baseVersion: ref && rng.chance(0.85) ? ref.version : rng.int(1, 9),
      ...(op === 'update' ? { data: updateBody(t.model, rng, world, mineFor(game, actor, t.model)) } : {}),
    }
    const outOfScope = !ref || !world.sees(actor, ref)
    out.push({ mutation, model: t.model, id, outOfScope, twin: false })
    if (outOfScope) {
      const ghost = game.ghost()
      out.push({ mutation: { ...mutation, mid: ++mid, id: ghost }, model: t.model, id: ghost, outOfScope: true, twin: true })
    }
  }
  if (oddMids && rng.chance(0.03)) {
    // An odd mid: not a safe integer, or zero: the push is refused whole (400), never a 500.
    const first = out[0] as Planned
    first.mutation.mid = rng.pick([0, -1, 1.5, MAX + 2, '7']) as number
  }
  return out
}

/**
 * Checks a push answer and notes what it did: every record shown is in the caller's scope now;
 * every accepted write was the caller's to make; an out-of-scope mutation's result equals its
 * twin's; a create with a taken id out of scope says `id_taken` and nothing more.
 */
export function checkPushAnswer(game: Game, actor: Actor, requestId: string, clientId: string, planned: Planned[], answer: Json): void {
  const { world } = game
  const results = answer.results as Json[]
  if (!Array.isArray(results) || results.length !== planned.length) game.fail('a push answer without one result per mutation', answer)
  const scope = world.scopeOf(actor)
  for (const [i, p] of planned.entries()) {
    const r = results[i] as Json
    if (r.mid !== p.mutation.mid) game.fail('results out of order', { planned: p.mutation, r })
    if (r.record) {
      const at = { orgId: r.record.orgId ?? null, ownerId: r.record.ownerId ?? null }
      if (!World.inScope(world.modelScope(p.model), scope, at))
        game.fail(`leak: a push result shows a ${p.model} out of scope`, { actor: World.actorKey(actor), r })
    }
    const before = world.record(p.model, p.id)
    if (r.status === 'applied' || r.status === 'merged' || r.status === 'conflict') {
      if (p.outOfScope) game.fail(`unauthorised write: a pushed ${p.mutation.op} of a ${p.model} out of scope was ${r.status}`, { p, r })
      game.approve(actor, requestId, p.model, r.record as Json, before)
      if (r.status === 'conflict') world.conflicts.set(r.conflict.id, { id: r.conflict.id, model: p.model, recordId: p.id, open: true })
      game.count(`push ${r.status}`)
    } else if ((r.status === 'stale' || r.status === 'duplicate') && r.record && before && r.record.version !== before.version) {
      game.fail(`a ${r.status} answer shows a version no accepted write made`, { r, before })
    }
    if (p.twin) {
      const prev = planned[i - 1] as Planned
      const across = { ...(results[i - 1] as Json), mid: 0 }
      game.same(`a pushed ${prev.mutation.op} of a ${p.model}`, across, [prev.id], { ...r, mid: 0 }, [p.id])
    } else if (p.mutation.op === 'create' && p.outOfScope && r.status === 'rejected' && r.error?.code === 'id_taken') {
      checkIdTaken(game, 'push', r, p.id)
    } else if (p.mutation.op === 'create' && p.outOfScope && r.status === 'rejected' && r.error?.code === 'clock_ahead') {
      game.fail('leak: a create with a taken id out of scope compared its clock with the record', r)
    }
  }
  const highest = Math.max(world.lastMid.get(clientId) ?? 0, ...planned.map((p) => Number(p.mutation.mid)))
  if (answer.lastMid !== highest) game.fail(`lastMid ${answer.lastMid}, expected ${highest}`, answer)
  world.lastMid.set(clientId, highest)
}

function remember(game: Game, clientId: string, planned: Planned[], answer: Json): void {
  let map = lastPushes.get(game.world)
  if (!map) {
    map = new Map()
    lastPushes.set(game.world, map)
  }
  map.set(
    clientId,
    planned.map((p, i) => ({ ...p, first: (answer.results as Json[])[i] })),
  )
}

/**
 * A replay of the clientId's last push (its answer lost): a mutation first refused hears the
 * same refusal (§4: refusals are remembered), every other is a duplicate showing records in
 * scope now only.
 */
function replayOf(game: Game, clientId: string): Planned[] | undefined {
  const planned = lastPushes.get(game.world)?.get(clientId)
  if (!planned || planned.some((p) => typeof p.mutation.mid !== 'number' || !Number.isSafeInteger(p.mutation.mid) || p.mutation.mid < 1))
    return undefined
  return planned.map((p) => ({ ...p, twin: false }))
}

function checkReplay(game: Game, actor: Actor, planned: Planned[], answer: Json): void {
  const scope = game.world.scopeOf(actor)
  for (const [i, r] of (answer.results as Json[]).entries()) {
    const p = planned[i] as Planned
    if (p.first?.status === 'rejected') {
      if (r.status !== 'rejected' || JSON.stringify(r.error) !== JSON.stringify(p.first.error))
        game.fail(`a replayed mutation first refused answered ${r.status}, not the same refusal`, { p, r })
      if (r.record) game.fail('a replayed refusal carries a record', { p, r })
      continue
    }
    if (r.status !== 'duplicate') game.fail(`a replayed mutation answered ${r.status}, not duplicate`, { p, r })
    if (
      r.record &&
      !World.inScope(game.world.modelScope(p.model), scope, { orgId: r.record.orgId ?? null, ownerId: r.record.ownerId ?? null })
    )
      game.fail('leak: a duplicate shows a record out of scope now', { actor: World.actorKey(actor), r })
  }
  game.count('replays checked')
}

/** A clientId for this push: the actor's own mostly, else someone else's (403), or `server`. */
function clientIdFor(game: Game, actor: Actor): { clientId: string; own: boolean } {
  const { rng, world } = game
  const own = World.clientId(actor)
  const r = rng.next()
  if (r < 0.88) return { clientId: own, own: true }
  const owners = world.clientOwners
  const foreign = [...owners.entries()].filter(([, owner]) => owner !== clientOwner(actor)).map(([id]) => id)
  if (r < 0.97 && foreign.length > 0) return { clientId: rng.pick(foreign) as string, own: false }
  return { clientId: 'server', own: false }
}

export async function httpPush(game: Game, actor: Actor): Promise<void> {
  const { world, rng } = game
  const { clientId, own } = clientIdFor(game, actor)
  const replay = own && rng.chance(0.1) ? replayOf(game, clientId) : undefined
  const planned = replay ?? plan(game, actor, clientId)
  game.note(
    `${World.actorKey(actor)} PUSH as ${clientId}${replay ? ' (replay)' : ''} ${JSON.stringify(planned.map((p) => p.mutation)).slice(0, 300)}`,
  )
  const res = await game.http(actor, 'POST', '/api/sync/push', { clientId, mutations: planned.map((p) => p.mutation) })
  if (!world.live(actor)) return
  // A malformed push is refused whole (400) before anyone's clientId is looked at.
  const odd = planned.some((p) => !Number.isSafeInteger(p.mutation.mid) || p.mutation.mid < 1)
  if (!own) {
    if (!(res.status === 403 || (odd && res.status === 400)) || res.text.includes('lastMid'))
      game.fail(`a push as someone else's clientId answered ${res.status}`, res.json)
    return
  }
  if (res.status !== 200) {
    if (!odd || res.status !== 400) game.fail(`a push as the caller's own clientId answered ${res.status}`, res.json)
    return
  }
  world.clientOwners.set(clientId, clientOwner(actor))
  if (replay) checkReplay(game, actor, replay, res.json)
  else {
    checkPushAnswer(game, actor, res.requestId, clientId, planned, res.json)
    remember(game, clientId, planned, res.json)
  }
}

/** A push over an open socket, as its hello's clientId. */
export async function socketPush(game: Game, socket: SocketRef): Promise<void> {
  const { world } = game
  const planned = plan(game, socket.actor, socket.clientId, false)
  game.note(`${World.actorKey(socket.actor)} WS PUSH ${JSON.stringify(planned.map((p) => p.mutation)).slice(0, 300)}`)
  const mark = socket.client.messages.length
  socket.client.send({ type: 'push', mutations: planned.map((p) => p.mutation) })
  const reply = await socket.client
    .next((m) => m.type === 'pushResult' || m.type === 'error', 10_000)
    .catch((e: unknown) => game.fail(`no answer to a socket push: ${String(e)}`, socket.client.messages.slice(mark)))
  if (reply.type === 'error') game.fail(`a socket push by a live caller failed: ${reply.code}`, reply)
  world.clientOwners.set(socket.clientId, clientOwner(socket.actor))
  checkPushAnswer(game, socket.actor, socket.requestId, socket.clientId, planned, reply as unknown as Json)
}

/** Pushes these mutations as the actor's own clientId over HTTP, checked like any push; returns the results. */
export async function pushMutations(game: Game, actor: Actor, mutations: Json[]): Promise<Json[]> {
  const clientId = World.clientId(actor)
  const planned: Planned[] = mutations.map((mutation) => {
    const ref = game.world.record(String(mutation.model), String(mutation.id))
    return {
      mutation,
      model: String(mutation.model),
      id: String(mutation.id),
      outOfScope: ref !== undefined && !game.world.sees(actor, ref),
      twin: false,
    }
  })
  const res = await game.http(actor, 'POST', '/api/sync/push', { clientId, mutations })
  if (res.status !== 200) game.fail(`a push as the caller's own clientId answered ${res.status}`, res.json)
  game.world.clientOwners.set(clientId, clientOwner(actor))
  checkPushAnswer(game, actor, res.requestId, clientId, planned, res.json)
  return res.json.results as Json[]
}
