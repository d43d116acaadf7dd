/**
 * Odd requests from a signed-in attacker: over-long path segments and cursors, too many
 * mutations, bodies over the limit or of the wrong type, wrong JSON types where objects go, an
 * oversized socket frame. Each must be refused with a 4xx and a §7 body (checked by
 * `Game.http`), or for the socket a close with its code; never a 5xx, never a write.
 */
import { MAX_PUSH_MUTATIONS } from '@pulse/core'
import type { Game } from './game.ts'
import { pickTarget } from './moves-rest.ts'
import { type Actor, World } from './world.ts'

type Odd = (game: Game, actor: Actor) => Promise<{ status: number; what: string }>

const ODD: readonly Odd[] = [
  async (g, a) => ({ what: 'a 300-character id', status: (await g.http(a, 'GET', `/api/tasks/${'a'.repeat(300)}`)).status }),
  async (g, a) => ({
    what: 'a 5000-character cursor',
    status: (await g.http(a, 'GET', `/api/sync/pull?cursor=c1.${'z'.repeat(5000)}`)).status,
  }),
  async (g, a) => {
    const mutations = Array.from({ length: MAX_PUSH_MUTATIONS + 1 }, (_, i) => ({
      mid: i + 1,
      model: 'task',
      op: 'delete',
      id: g.ghost(),
      baseVersion: 1,
      vclock: {},
      at: new Date().toISOString(),
    }))
    return {
      what: 'too many mutations',
      status: (await g.http(a, 'POST', '/api/sync/push', { clientId: World.clientId(a), mutations })).status,
    }
  },
  async (g, a) => ({
    what: 'a 2 MB body',
    status: (await g.http(a, 'POST', '/api/cards', { title: 'x', secret: 'y'.repeat(2 * 1024 * 1024) })).status,
  }),
  async (g, a) => {
    const t = pickTarget(g, 'task')
    return {
      what: 'text/plain',
      status: (await g.http(a, 'PATCH', `/api/tasks/${t.id}`, 'title=x', { 'content-type': 'text/plain' })).status,
    }
  },
  async (g, a) => ({ what: 'an array body', status: (await g.http(a, 'POST', '/api/orgs', [{ name: 'x' }])).status }),
  async (g, a) => ({
    what: 'a role object',
    status: (await g.http(a, 'POST', `/api/orgs/${g.ghost()}/members`, { username: 'ann', role: { owner: true } })).status,
  }),
  async (g, a) => ({
    what: 'a mutations object',
    status: (await g.http(a, 'POST', '/api/sync/push', { clientId: World.clientId(a), mutations: { 0: {} } })).status,
  }),
  async (g, a) => ({ what: 'a repeated query parameter', status: (await g.http(a, 'GET', '/api/sync/conflicts?limit=1&limit=2')).status }),
  async (g, a) => ({
    what: 'a resolve without a body',
    status: (await g.http(a, 'POST', `/api/sync/conflicts/${g.ghost()}/resolve`)).status,
  }),
  async (g, a) => ({
    what: 'an invitation id that is not one',
    status: (await g.http(a, 'POST', '/api/invitations/%F0%9F%92%A5/accept')).status,
  }),
]

export async function oddRequest(game: Game, actor: Actor): Promise<void> {
  const odd = game.rng.pick(ODD) as Odd
  const { status, what } = await odd(game, actor)
  game.note(`${World.actorKey(actor)} sends ${what}: ${status}`)
  if (game.world.live(actor) && (status < 400 || status >= 500)) game.fail(`${what} was answered ${status}`)
}

/** A socket sent a frame over the limit: it must close with 1009 (and nothing be applied). */
export async function oversizedFrame(game: Game, actor: Actor): Promise<void> {
  if (!game.world.live(actor)) return
  const { client } = await game.socket()
  game.note(`${World.actorKey(actor)} sends a 2 MB frame`)
  client.sendRaw(JSON.stringify({ type: 'hello', token: 'x'.repeat(2 * 1024 * 1024), clientId: World.clientId(actor), cursor: null }))
  const closed = await Promise.race([client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))])
  if (closed?.code !== 1009) game.fail('an oversized frame did not close the socket with 1009', closed)
}
