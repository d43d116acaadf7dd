/**
 * The model REST API attacked (PROTOCOL.md §10): create (with others' organizations and taken
 * ids), get, list (others' organizations, forged cursors), patch (moves, If-Match), delete and
 * history of records inside and outside the caller's scope. Out of scope is compared with
 * absent, answer for answer.
 */
import { createBody, MODELS, pluralOf, scopeField, updateBody } from './data.ts'
import type { Answer, Game, Json } from './game.ts'
import { type Actor, type RecordRef, World } from './world.ts'

/** A record a move aims at: a known one (any tenant's), or one that does not exist. */
export interface Target {
  model: string
  id: string
  ref: RecordRef | undefined
}

/** Picks a target: mostly a known record (this round's first), sometimes a ghost. */
export function pickTarget(game: Game, model?: string): Target {
  const { rng, world } = game
  const all = [...world.records.values()].filter((r) => !model || r.model === model)
  const recent = all.slice(-40)
  const ref = rng.chance(0.85) ? rng.pick(rng.chance(0.8) ? recent : all) : undefined
  if (ref) return { model: ref.model, id: rng.chance(0.1) ? ref.id.toUpperCase() : ref.id, ref }
  return { model: model ?? (rng.pick(MODELS) as string), id: game.ghost(), ref: undefined }
}

/** The organizations (or, for an owned model, the user) the actor may write records in. */
export function mineFor(game: Game, actor: Actor, model: string): string[] {
  const field = scopeField(model)
  if (field === 'ownerId') return actor.kind === 'device' ? [actor.device.user.id] : []
  return game.world.orgIdsOf(actor)
}

/** Whether the actor may see the target now (an absent one: no). */
export function visible(game: Game, actor: Actor, target: Target): boolean {
  return target.ref !== undefined && game.world.sees(actor, target.ref)
}

/** The canonical `id_taken` answers, one per transport: every later one must look the same. */
const idTaken = new WeakMap<object, Map<string, string>>()

/** §8 exception: a create with a taken id outside the scope says only that the id is taken, always alike. */
export function checkIdTaken(game: Game, transport: string, answer: Answer | Json, id: string): void {
  let seen = idTaken.get(game.world)
  if (!seen) {
    seen = new Map()
    idTaken.set(game.world, seen)
  }
  const shape = JSON.stringify('json' in answer ? { status: answer.status, body: { ...answer.json, requestId: '' } } : answer)
    .replaceAll(id, '<id>')
    .replaceAll(id.toLowerCase(), '<id>')
    .replace(/"mid":\d+/, '"mid":0')
  const first = seen.get(transport)
  if (first === undefined) {
    if (!shape.includes('id_taken')) game.fail(`${transport}: a create with a taken id out of scope is not id_taken`, shape)
    seen.set(transport, shape)
  } else if (first !== shape) game.fail(`leak: ${transport} id_taken answers differ`, { first, now: shape })
  game.count('id_taken checks')
}

export async function restCreate(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  const model = rng.pick(MODELS) as string
  const gen = createBody(model, rng, world, mineFor(game, actor, model))
  const taken = rng.chance(0.2) ? pickTarget(game, model) : undefined
  const id = taken?.id ?? (rng.chance(0.2) ? game.ghost() : undefined)
  if (id) gen.data.id = id
  game.note(`${World.actorKey(actor)} POST ${model} ${JSON.stringify(gen.data).slice(0, 120)}`)
  const res = await game.http(actor, 'POST', `/api/${pluralOf(model)}`, gen.data)
  if (!world.live(actor)) return
  const before = id ? world.record(model, id.toLowerCase()) : undefined
  if (before && !world.sees(actor, before)) {
    if (res.status === 201) game.fail('unauthorised write: a create took over a record out of scope', res.json)
    if (res.json.error?.code !== 'validation_failed' && res.json.error?.code !== 'forbidden' && res.json.error?.code !== 'org_required')
      checkIdTaken(game, 'rest', res, id as string)
    return
  }
  if (res.status === 201) {
    game.approve(actor, res.requestId, model, res.json, before)
    game.count('rest creates')
  } else if (gen.clean && !before) game.fail(`a valid create in the caller's own scope was refused`, { data: gen.data, res: res.json })
}

export async function restGet(game: Game, actor: Actor): Promise<void> {
  const t = pickTarget(game)
  game.note(`${World.actorKey(actor)} GET ${t.model} ${t.id}`)
  const res = await game.http(actor, 'GET', `/api/${pluralOf(t.model)}/${t.id}`)
  if (!game.world.live(actor)) return
  if (!visible(game, actor, t)) {
    const ghost = game.ghost()
    game.same(`GET ${t.model}`, res, [t.id], await game.http(actor, 'GET', `/api/${pluralOf(t.model)}/${ghost}`), [ghost])
    return
  }
  const ref = t.ref as RecordRef
  const expected = ref.deleted ? 404 : 200
  if (res.status !== expected) game.fail(`GET of a visible record answered ${res.status}, not ${expected}`, { ref, res: res.json })
  if (res.status === 200 && res.json.version !== ref.version)
    game.fail('GET shows a version no accepted write made', { ref, res: res.json })
}

export async function restList(game: Game, actor: Actor): Promise<void> {
  const { rng, world } = game
  // Mostly a model with records, asked for plainly; sometimes one odd parameter.
  const model = rng.chance(0.8) ? (rng.pick([...world.records.values()].slice(-30))?.model ?? 'task') : (rng.pick(MODELS) as string)
  const field = scopeField(model)
  const params = new URLSearchParams()
  if (rng.chance(0.4)) params.set('limit', String(rng.pick([1, 2, 5, 50, 1000]) ?? 5))
  const mine = world.orgIdsOf(actor)
  const otherOrg = rng.pick(world.liveOrgs().filter((o) => !mine.includes(o.id)))
  if (field === 'orgId' && (mine.length !== 1 || rng.chance(0.5))) {
    params.set('orgId', (rng.chance(0.5) ? rng.pick(mine) : otherOrg?.id) ?? game.ghost())
  }
  if (rng.chance(0.2)) params.set('orderBy', rng.pick(['-createdAt', 'updatedAt', `-${field ?? 'updatedAt'}`]) as string)
  if (rng.chance(0.2)) {
    const [key, value] = rng.pick([
      ['cursor', 'x'],
      ['cursor', Buffer.from('{"o":"createdAt","v":{"a":1},"id":"x"}').toString('base64url')],
      ['cursor', Buffer.from('{"o":"createdAt","v":[1,2],"id":"00000000-0000-7000-8000-000000000000"}').toString('base64url')],
      ['cursor', Buffer.from('{"o":"createdAt","v":true,"id":"00000000-0000-7000-8000-000000000000"}').toString('base64url')],
      ['cursor', Buffer.from('{"o":"createdAt","v":"yesterday","id":"00000000-0000-7000-8000-000000000000"}').toString('base64url')],
      ['limit', rng.pick(['0', '1001', '-1', 'many']) as string],
      ['orderBy', rng.pick(['nope', 'tags', '--createdAt']) as string],
      [rng.pick(['__proto__', 'constructor', 'nope']) as string, '1'],
    ] as const) as readonly [string, string]
    params.set(key, value)
  }
  game.note(`${World.actorKey(actor)} LIST ${model}?${params}`)
  const res = await game.http(actor, 'GET', `/api/${pluralOf(model)}?${params}`)
  if (!world.live(actor) || res.status !== 200) return
  checkListed(game, actor, model, res.json.items as Json[])
  // Naming another organization answers like naming none that exists.
  if (field === 'orgId' && otherOrg && params.get('orgId') === otherOrg.id && !world.admin(actor)) {
    const ghost = game.ghost()
    params.set('orgId', ghost)
    game.same(
      `LIST ${model} of another organization`,
      res,
      [otherOrg.id],
      await game.http(actor, 'GET', `/api/${pluralOf(model)}?${params}`),
      [ghost],
    )
  }
  let next = res.json.nextCursor as string | null
  for (let page = 0; next && page < 3; page++) {
    params.set('cursor', next)
    const more = await game.http(actor, 'GET', `/api/${pluralOf(model)}?${params}`)
    if (more.status !== 200) game.fail('the next page of a list was refused', more.json)
    checkListed(game, actor, model, more.json.items as Json[])
    next = more.json.nextCursor as string | null
  }
}

function checkListed(game: Game, actor: Actor, model: string, items: Json[]): void {
  for (const item of items) {
    const ref = game.world.record(model, String(item.id))
    if (!ref) game.fail(`a ${model} no accepted write made is listed`, item)
    if (!game.world.sees(actor, ref)) game.fail(`leak: a ${model} out of scope is listed`, { actor: World.actorKey(actor), item })
    if (item.version !== ref.version) game.fail(`a listed ${model} has a version no accepted write made`, { ref, item })
  }
  game.count('listed records checked')
}

function ifMatch(game: Game, t: Target): Record<string, string> {
  const r = game.rng.next()
  if (r < 0.2 && t.ref) return { 'if-match': `"${t.ref.version}"` }
  if (r < 0.3) return { 'if-match': game.rng.pick(['1', '999', 'W/"2"', 'garbage', '*']) as string }
  return {}
}

export async function restPatch(game: Game, actor: Actor): Promise<void> {
  const t = pickTarget(game)
  const data = updateBody(t.model, game.rng, game.world, mineFor(game, actor, t.model))
  const headers = ifMatch(game, t)
  game.note(`${World.actorKey(actor)} PATCH ${t.model} ${t.id} ${JSON.stringify(data).slice(0, 100)} ${JSON.stringify(headers)}`)
  const res = await game.http(actor, 'PATCH', `/api/${pluralOf(t.model)}/${t.id}`, data, headers)
  if (!game.world.live(actor)) return
  if (!visible(game, actor, t)) {
    if (res.status === 200) game.fail('unauthorised write: PATCH of a record out of scope', res.json)
    const ghost = game.ghost()
    const absent = await game.http(actor, 'PATCH', `/api/${pluralOf(t.model)}/${ghost}`, data, headers)
    game.same(`PATCH ${t.model}`, res, [t.id], absent, [ghost])
    return
  }
  if (res.status === 200) {
    game.approve(actor, res.requestId, t.model, res.json, t.ref)
    game.count('rest patches')
  }
}

export async function restDelete(game: Game, actor: Actor): Promise<void> {
  const t = pickTarget(game)
  const headers = ifMatch(game, t)
  game.note(`${World.actorKey(actor)} DELETE ${t.model} ${t.id} ${JSON.stringify(headers)}`)
  const res = await game.http(actor, 'DELETE', `/api/${pluralOf(t.model)}/${t.id}`, undefined, headers)
  if (!game.world.live(actor)) return
  if (!visible(game, actor, t)) {
    if (res.status === 204) game.fail('unauthorised write: DELETE of a record out of scope')
    const ghost = game.ghost()
    game.same(
      `DELETE ${t.model}`,
      res,
      [t.id],
      await game.http(actor, 'DELETE', `/api/${pluralOf(t.model)}/${ghost}`, undefined, headers),
      [ghost],
    )
    return
  }
  if (res.status === 204) {
    game.approveDelete(actor, res.requestId, t.ref as RecordRef)
    game.count('rest deletes')
  }
}

export async function restHistory(game: Game, actor: Actor): Promise<void> {
  const t = pickTarget(game)
  game.note(`${World.actorKey(actor)} HISTORY ${t.model} ${t.id}`)
  const res = await game.http(actor, 'GET', `/api/${pluralOf(t.model)}/${t.id}/history`)
  if (!game.world.live(actor)) return
  if (!visible(game, actor, t)) {
    const ghost = game.ghost()
    game.same(`history of a ${t.model}`, res, [t.id], await game.http(actor, 'GET', `/api/${pluralOf(t.model)}/${ghost}/history`), [ghost])
    return
  }
  if (res.status !== 200) game.fail(`history of a visible record answered ${res.status}`, res.json)
  const versions = (res.json.items as Json[]).map((e) => e.version)
  if (versions[versions.length - 1] !== (t.ref as RecordRef).version)
    game.fail('history does not end at the record\u2019s version', { versions, ref: t.ref })
}
