/**
 * The seeded adversary fuzz (issue 8): rounds of random moves from the attacker's side against a
 * real server with accounts, over a world of organizations, users in one or several of them,
 * their devices, organization API tokens and an admin token. Each round founds two or three
 * organizations, invites and accepts members, issues tokens, plays its moves (REST, push and
 * pull over HTTP and WebSocket, conflicts, invitations and memberships, sessions, devices and
 * tokens, with others' ids, clientIds, cursors, clocks and odd values), then audits what the
 * server holds and deletes its organizations. Every answer is checked as it comes (game.ts).
 *
 * Replay: a failure prints `ADV_SEED=… ADV_FROM=… ADV_RUNS=…`, which replays the block of rounds
 * (one server) up to the failing one with the same choices.
 */
import type { SqlStorage } from '@pulse/server'
import { describe, expect, it } from 'vitest'
import { startTestServer } from '../server.ts'
import { auditRound } from './audit.ts'
import { adversarySchema, MODEL_SCOPES } from './data.ts'
import { Finding, Game, type Stats } from './game.ts'
import { listConflicts, makeConflict, resolveConflict } from './moves-conflicts.ts'
import { oddRequest, oversizedFrame } from './moves-odd.ts'
import {
  answerInvitation,
  cancelInvitation,
  createOrg,
  deleteOrg,
  invite,
  listInvitations,
  membershipChanged,
  orgDeleted,
  removeMember,
  setRole,
} from './moves-orgs.ts'
import { httpPush } from './moves-push.ts'
import { restCreate, restDelete, restGet, restHistory, restList, restPatch } from './moves-rest.ts'
import {
  addDevice,
  deviceOf,
  ensureLive,
  identity,
  login,
  logout,
  newToken,
  PASSWORD,
  refresh,
  removeDevice,
  revokeToken,
} from './moves-sessions.ts'
import { dropSocket, httpPull, scanSockets, wsOpen, wsPull, wsPush } from './moves-sync.ts'
import { Prng } from './prng.ts'
import { type Actor, type Role, type SocketRef, type TokenRef, type UserRef, World } from './world.ts'

const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)

type Move = (game: Game, actor: Actor) => Promise<void>

async function onSocket(game: Game, actor: Actor, use: (game: Game, s: SocketRef) => Promise<void>): Promise<void> {
  const live = game.world.sockets.filter((s) => s.revokedAt === undefined)
  const s = game.rng.pick(live)
  if (!s) return wsOpen(game, actor)
  await use(game, s)
}

/** The moves, by name, and how often each is made. */
const MOVES: readonly (readonly [number, string, Move])[] = [
  [6, 'rest create', restCreate],
  [4, 'rest get', restGet],
  [3, 'rest list', restList],
  [5, 'rest patch', restPatch],
  [2, 'rest delete', restDelete],
  [2, 'rest history', restHistory],
  [7, 'push', httpPush],
  [4, 'pull', httpPull],
  [4, 'socket hello', wsOpen],
  [3, 'socket push', (g, a) => onSocket(g, a, wsPush)],
  [2, 'socket pull', (g, a) => onSocket(g, a, wsPull)],
  [0.5, 'socket close', (g, a) => onSocket(g, a, async (game, s) => dropSocket(game, s))],
  [2, 'open a conflict', makeConflict],
  [2, 'list conflicts', listConflicts],
  [2, 'settle a conflict', resolveConflict],
  [2, 'invite', invite],
  [2, 'answer an invitation', answerInvitation],
  [1, 'list invitations', listInvitations],
  [1, 'cancel an invitation', cancelInvitation],
  [2, 'remove a member or leave', removeMember],
  [1, 'change a role', setRole],
  [0.5, 'delete an organization', deleteOrg],
  [0.7, 'create an organization', createOrg],
  [1, 'revoke an API token', async (g) => revokeToken(g)],
  [0.5, 'new API token', async (g) => void (await newToken(g, g.rng.chance(0.2)))],
  [1.5, 'logout', logout],
  [1.5, 'refresh or replay', refresh],
  [1, 'remove a device', removeDevice],
  [0.5, 'another device', addDevice],
  [1, 'identity reads', identity],
  [1, 'odd request', oddRequest],
  [0.2, 'oversized frame', oversizedFrame],
]

/** An actor for a move: mostly live (a signed-out device signs in again), sometimes a dead credential. */
async function pickActor(game: Game): Promise<Actor> {
  const { rng, world } = game
  // Often one with an open socket: its logout, leaving, replay or revocation must close it.
  const withSocket = world.sockets.filter((s) => s.revokedAt === undefined && world.live(s.actor)).map((s) => s.actor)
  let actor = (rng.chance(0.35) ? rng.pick(withSocket) : undefined) ?? (rng.pick(world.actors()) as Actor)
  if (!world.live(actor) && rng.chance(0.8)) {
    if (actor.kind === 'device') actor = await ensureLive(game, actor)
    else actor = rng.pick(world.actors().filter((a) => world.live(a))) ?? actor
  }
  return actor
}

/** Registers the users of a server (one of them a server admin) and signs each in. */
async function setUpUsers(game: Game): Promise<void> {
  const accounts = game.server.accounts
  if (!accounts) throw new Error('accounts are on')
  for (const name of ['ann', 'ben', 'cat', 'dan', 'eve', 'root']) {
    const email = `${name}@example.com`
    const admin = name === 'root'
    const created = admin
      ? await accounts.createUser({ username: name, email, password: PASSWORD, admin: true })
      : (await game.http(null, 'POST', '/api/auth/register', { username: name, email, password: PASSWORD })).json.user
    const user: UserRef = { name, id: created.id, email, admin, epoch: 0, devices: [] }
    game.world.users.push(user)
    await login(game, user)
  }
}

/** Founds an organization owned by `owner` with some members (by invitation), and its API tokens. */
async function foundOrg(game: Game, owner: UserRef): Promise<void> {
  const { rng, world } = game
  const founder = await deviceOf(game, owner)
  const res = await game.http(founder, 'POST', '/api/orgs', { name: `org ${rng.word()}` })
  if (res.status !== 201) game.fail('founding an organization failed', res.json)
  const org = {
    id: String(res.json.id),
    name: String(res.json.name),
    members: new Map<string, Role>([[owner.id, 'owner']]),
    deleted: false,
  }
  world.orgs.set(org.id, org)
  await membershipChanged(game, [owner])
  for (const user of world.users) {
    if (user === owner || !rng.chance(0.5)) continue
    const role = rng.weighted<Role>([
      [6, 'member'],
      [3, 'admin'],
      [1, 'owner'],
    ])
    const invited = await game.http(founder, 'POST', `/api/orgs/${org.id}/invitations`, { username: user.name, role })
    if (invited.status !== 201) game.fail('an owner could not invite', invited.json)
    const device = await deviceOf(game, user)
    const accepted = await game.http(device, 'POST', `/api/invitations/${invited.json.id}/accept`)
    if (accepted.status !== 200) game.fail('an invitee could not accept', accepted.json)
    org.members.set(user.id, role)
    await membershipChanged(game, [user])
  }
  await newToken(game)
  if (rng.chance(0.3)) await newToken(game)
}

async function playRound(game: Game, auditor: Actor, moves: number, cursor: string | null): Promise<string | null> {
  const { rng, world } = game
  if (!world.tokens.some((t) => t.admin && !t.revoked)) await newToken(game, true)
  const plain = world.users.filter((u) => !u.admin)
  for (let i = rng.int(2, 3); i > 0; i--) await foundOrg(game, rng.pick(plain) as UserRef)
  // Sockets open from the start, so membership changes and revocations find some to close.
  for (let i = rng.int(2, 4); i > 0; i--) await wsOpen(game, await pickActor(game))
  for (game.move = 1; game.move <= moves; game.move++) {
    const [name, move] = rng.weighted(MOVES.map(([weight, ...rest]) => [weight, rest] as const))
    const started = performance.now()
    await move(game, await pickActor(game))
    game.count(`move: ${name}`)
    if (process.env.ADV_PROFILE) game.stats[`ms: ${name}`] = (game.stats[`ms: ${name}`] ?? 0) + Math.round(performance.now() - started)
    scanSockets(game)
  }
  game.move = moves + 1
  const next = await auditRound(game, auditor, cursor)
  for (const org of world.liveOrgs()) {
    const res = await game.http(auditor, 'DELETE', `/api/orgs/${org.id}`)
    if (res.status !== 204) game.fail('an admin could not delete an organization', res.json)
    await orgDeleted(game, org)
  }
  // Tokens revoked in earlier rounds go (a few stay, to be tried again).
  const revoked = world.tokens.filter((t) => t.revoked)
  world.tokens.splice(0, world.tokens.length, ...world.tokens.filter((t) => !t.revoked), ...revoked.slice(-2))
  return next
}

/** What `runAdversaryFuzz` takes. */
export interface AdversaryFuzzOptions {
  /** Rounds when `ADV_RUNS` is not set. */
  runs: number
  /** Rounds per server (a fresh database each block). */
  block?: number
}

/** Registers the fuzz's test over storages made by `makeStorage`. */
export function runAdversaryFuzz(label: string, makeStorage: () => Promise<SqlStorage>, options: AdversaryFuzzOptions): void {
  const seed = envInt('ADV_SEED') ?? 20261124
  const runs = envInt('ADV_RUNS') ?? options.runs
  const moves = envInt('ADV_MOVES') ?? 40
  const from = envInt('ADV_FROM') ?? 0
  const block = envInt('ADV_BLOCK') ?? options.block ?? 10

  describe(`the adversary fuzz on ${label}`, () => {
    it(
      `${runs} rounds of ${moves} moves leak nothing, write nothing unauthorised, never answer 5xx`,
      async () => {
        const stats: Stats = {}
        const started = Date.now()
        for (let start = from; start < from + runs; start += block) {
          const server = await startTestServer(adversarySchema, await makeStorage(), {
            auth: true,
            accessTtlSeconds: 86_400,
            authOptions: { tokenRatePerSecond: 1e6, apiTokenRatePerSecond: 1e6 },
            // Re-checks are rare: a socket that closes at once was closed by the bus's access events.
            realtime: { recheckIntervalMs: 600_000, rateLimit: { perSecond: 1e5, burst: 1e5 } },
          })
          try {
            const world = new World(MODEL_SCOPES)
            const setup = new Game(server, world, new Prng(seed ^ start), start, stats)
            await setUpUsers(setup)
            const accounts = server.accounts as NonNullable<typeof server.accounts>
            const created = await accounts.createApiToken({ name: 'auditor', admin: true })
            const auditor: Actor = {
              kind: 'token',
              token: {
                id: created.row.id,
                token: created.token,
                orgId: null,
                admin: true,
                revoked: false,
                clientId: 'auditor',
              } satisfies TokenRef,
            }
            let cursor: string | null = null
            for (let round = start; round < Math.min(start + block, from + runs); round++) {
              const game = new Game(server, world, new Prng(seed * 7919 + round), round, stats)
              try {
                cursor = await playRound(game, auditor, moves, cursor)
              } catch (e) {
                const replay = `ADV_SEED=${seed} ADV_FROM=${start} ADV_RUNS=${round - start + 1} ADV_MOVES=${moves} ADV_BLOCK=${block}`
                const trail = game.trail.join('\n')
                if (e instanceof Finding)
                  e.message = `${e.message}\nround ${round}, move ${game.move}; replay: ${replay}\nlast moves:\n${trail}`
                else console.error(`round ${round}, move ${game.move}; replay: ${replay}\nlast moves:\n${trail}`)
                throw e
              }
              stats.rounds = (stats.rounds ?? 0) + 1
            }
          } finally {
            await server.close()
          }
        }
        stats.seconds = Math.round((Date.now() - started) / 1000)
        console.log(`adversary fuzz on ${label} (seed ${seed}):`, JSON.stringify(stats))
        expect(stats.rounds).toBe(runs)
      },
      60_000 + runs * 20_000,
    )
  })
}
