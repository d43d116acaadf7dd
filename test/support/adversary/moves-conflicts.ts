/**
 * Conflicts attacked (PROTOCOL.md §5, §8): conflicts are opened for real (a pushed create, a
 * REST edit of the manual field, then the device's concurrent edit), then listed and settled
 * by callers inside and outside the record's scope — after memberships changed, too. A
 * conflict out of scope is answered like one that does not exist.
 */
import type { Game, Json } from './game.ts'
import { pushMutations } from './moves-push.ts'
import { type Actor, World } from './world.ts'

/** Opens a conflict on a card of one of the actor's organizations (or a memo of its user). */
export async function makeConflict(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  if (!world.live(actor)) return
  const memo = actor.kind === 'device' && rng.chance(0.35)
  const orgs = world.admin(actor) ? world.liveOrgs().map((o) => o.id) : world.orgIdsOf(actor)
  const orgId = rng.pick(orgs)
  if (!memo && !orgId) return
  const model = memo ? 'memo' : 'card'
  const clientId = World.clientId(actor)
  const id = game.ghost()
  const at = () => new Date().toISOString()
  game.note(`${World.actorKey(actor)} opens a conflict on ${model} ${id}`)
  const base = memo ? { text: 'memo', secret: 'base' } : { title: 'card', secret: 'base', orgId }
  const mid = (world.lastMid.get(clientId) ?? 0) + 1
  const [created] = await pushMutations(game, actor, [{ mid, model, op: 'create', id, vclock: { [clientId]: 1 }, data: base, at: at() }])
  if (created?.status !== 'applied') game.fail(`a ${model} create in the caller's own scope was ${created?.status}`, created)
  // Someone else who may write it edits the manual field over REST (a plain write: `server`).
  const writers = world
    .actors()
    .filter(
      (a) => world.live(a) && (memo ? a.kind === 'device' && a.device.user === (actor.kind === 'device' ? actor.device.user : null) : true),
    )
    .filter((a) => {
      const ref = world.record(model, id)
      return ref !== undefined && world.sees(a, ref)
    })
  const writer = rng.pick(writers) ?? actor
  const patched = await game.http(writer, 'PATCH', `/api/${model}s/${id}`, { secret: 'by rest' })
  if (patched.status !== 200) game.fail('a writer in scope could not edit', patched.json)
  game.approve(writer, patched.requestId, model, patched.json, world.record(model, id))
  const [edited] = await pushMutations(game, actor, [
    { mid: mid + 1, model, op: 'update', id, baseVersion: 1, vclock: { [clientId]: 2 }, data: { secret: `by ${clientId}` }, at: at() },
  ])
  if (edited?.status !== 'conflict') game.fail(`a concurrent edit of a manual field was ${edited?.status}, not conflict`, edited)
  game.count('conflicts opened')
}

export async function listConflicts(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const params = new URLSearchParams()
  if (rng.chance(0.5)) params.set('status', rng.pick(['open', 'resolved']) as string)
  if (rng.chance(0.3)) params.set('mine', rng.pick(['true', 'false']) as string)
  if (rng.chance(0.5)) params.set('limit', String(rng.pick([1, 2, 3, 500]) ?? 1))
  let bad = false
  if (rng.chance(0.08)) {
    params.set(
      rng.pick(['limit', 'cursor', 'status', 'mine']) as string,
      rng.pick(['0', '501', 'x', Buffer.from('["2026-01-01T00:00:00.000Z",{}]').toString('base64url'), 'maybe']) as string,
    )
    bad = true
  }
  game.note(`${World.actorKey(actor)} CONFLICTS ?${params}`)
  let res = await game.http(actor, 'GET', `/api/sync/conflicts?${params}`)
  if (!world.live(actor)) return
  if (bad) {
    if (res.status !== 400 && res.status !== 200) game.fail(`a forged conflict listing answered ${res.status}`, res.json)
    if (res.status === 400) return
  }
  for (let page = 0; ; page++) {
    if (res.status !== 200) game.fail(`a conflict listing answered ${res.status}`, res.json)
    for (const item of res.json.items as Json[]) {
      const ref = world.record(String(item.model), String(item.recordId))
      if (!world.conflicts.has(String(item.id)) || !ref) game.fail('a conflict no push opened is listed', item)
      if (!world.sees(actor, ref)) game.fail('leak: a conflict of a record out of scope is listed', { actor: World.actorKey(actor), item })
      if (params.get('mine') === 'true' && item.userId !== World.userId(actor))
        game.fail('mine=true lists a conflict someone else opened', item)
    }
    game.count('conflict listings checked')
    const next = res.json.nextCursor as string | null
    if (!next || page >= 3) break
    params.set('cursor', next)
    res = await game.http(actor, 'GET', `/api/sync/conflicts?${params}`)
  }
}

export async function resolveConflict(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const recent = [...world.conflicts.values()].slice(-30)
  const mine = recent.filter((c) => {
    const ref = world.record(c.model, c.recordId)
    return c.open && ref !== undefined && world.sees(actor, ref)
  })
  const known = rng.chance(0.85) ? ((rng.chance(0.6) ? rng.pick(mine) : undefined) ?? rng.pick(recent)) : undefined
  const id = known?.id ?? game.ghost()
  const choice = rng.pick(['local', 'remote', 'custom', 'custom', 'neither']) as string
  const body: Json = { choice }
  if (choice === 'custom' && rng.chance(0.8)) {
    body.data = rng.chance(0.8) ? { secret: `settled ${rng.word()}` } : { orgId: rng.pick(world.liveOrgs())?.id ?? game.ghost() }
  }
  game.note(`${World.actorKey(actor)} RESOLVE ${id} ${JSON.stringify(body)}`)
  const res = await game.http(actor, 'POST', `/api/sync/conflicts/${id}/resolve`, body)
  if (!world.live(actor)) return
  const ref = known ? world.record(known.model, known.recordId) : undefined
  if (!known || !ref || !world.sees(actor, ref)) {
    if (res.status === 200) game.fail('unauthorised write: a conflict out of scope was settled', res.json)
    const ghost = game.ghost()
    game.same('resolving a conflict', res, [id], await game.http(actor, 'POST', `/api/sync/conflicts/${ghost}/resolve`, body), [ghost])
    return
  }
  if (res.status === 200) {
    if (!known.open) game.fail('a settled conflict was settled again', res.json)
    game.approve(actor, res.requestId, known.model, res.json.record as Json, ref)
    known.open = false
    game.count('conflicts settled')
  } else if (known.open && !ref.deleted && choice !== 'neither' && choice !== 'custom') {
    game.fail(`settling an open conflict in scope answered ${res.status}`, res.json)
  } else if (!known.open && res.status !== 409 && choice !== 'neither') {
    game.fail(`settling a settled conflict answered ${res.status}, not 409`, res.json)
  }
}
