/**
 * One round of the adversary fuzz: the server, the reference world, the seeded choices, and the
 * checks every answer goes through — (a) never a 5xx and every error a §7 body; (b) an answer
 * about something outside the caller's scope is the answer for something that does not exist;
 * (c) every write the server accepts was allowed, and is the one the history shows.
 */
import { uuidv7 } from '@pulse/core'
import type { RunningServer } from '@pulse/server'
import { connectWs, type WsClient } from '../ws-client.ts'
import type { Prng } from './prng.ts'
import { type Actor, type RecordRef, World } from './world.ts'

/** A JSON object from the wire. */
export type Json = Record<string, any>

/** An HTTP answer. */
export interface Answer {
  status: number
  json: Json
  text: string
  requestId: string
}

/** A check failed: a leak, a 5xx, an unauthorised write. */
export class Finding extends Error {
  override name = 'Finding'
}

const ERROR_CODE = /^[a-z][a-z_]*$/

/** An answer with the request id and the given ids blanked: two answers of the same shape compare equal. */
export function shapeOf(answer: { status?: number; json?: Json } | Json, ...ids: (string | undefined)[]): string {
  const body = 'json' in answer && 'status' in answer ? { status: answer.status, body: { ...answer.json, requestId: '' } } : answer
  let text = JSON.stringify(body)
  for (const id of ids) if (id) for (const spelling of [id, id.toLowerCase(), id.toUpperCase()]) text = text.replaceAll(spelling, '<id>')
  return text
}

/** Counts of what a run did, printed at the end. */
export type Stats = Record<string, number>

/** The state and checks of one round. */
export class Game {
  move = 0
  private requests = 0
  /** What the round did, newest last: printed with a finding. */
  readonly trail: string[] = []

  constructor(
    readonly server: RunningServer,
    readonly world: World,
    readonly rng: Prng,
    readonly round: number,
    readonly stats: Stats,
  ) {}

  count(what: string): void {
    this.stats[what] = (this.stats[what] ?? 0) + 1
  }

  note(line: string): void {
    this.trail.push(`#${this.move} ${line}`)
    if (this.trail.length > 60) this.trail.shift()
  }

  fail(message: string, details?: unknown): never {
    const detail = details === undefined ? '' : `\n${JSON.stringify(details, null, 1).slice(0, 3000)}`
    throw new Finding(`${message}${detail}`)
  }

  /** A request id the history will carry (well-formed, so the server keeps it). */
  nextRequestId(): string {
    this.requests += 1
    return `adv-${this.round}-${this.move}-${this.requests}`
  }

  static headersOf(actor: Actor): Record<string, string> {
    return actor.kind === 'device' ? { authorization: `Bearer ${actor.device.access}` } : { 'x-auth-token': actor.token.token }
  }

  /**
   * One HTTP request as `actor` (null: anonymous), checked: no 5xx; every error a §7 body with
   * the request id; a credential the world says is revoked refused with 401, a live one never.
   */
  async http(actor: Actor | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const requestId = this.nextRequestId()
    const init: RequestInit = { method, headers: { ...(actor ? Game.headersOf(actor) : {}), 'x-request-id': requestId, ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
    }
    const res = await fetch(`${this.server.url}${path}`, init)
    const text = await res.text()
    let json: Json = {}
    try {
      json = text ? (JSON.parse(text) as Json) : {}
    } catch {
      if (res.status !== 204) this.fail(`${method} ${path}: the answer is not JSON`, { status: res.status, text: text.slice(0, 300) })
    }
    const answer = { status: res.status, json, text, requestId }
    this.count(`http ${res.status}`)
    if (res.status >= 500) this.fail(`${method} ${path} answered ${res.status}`, { answer: json, sent: body })
    if (res.headers.get('x-request-id') !== requestId) this.fail(`${method} ${path}: x-request-id not echoed`, [...res.headers])
    if (res.status >= 400) {
      const error = json.error as Json | undefined
      if (!error || typeof error.code !== 'string' || !ERROR_CODE.test(error.code) || typeof error.message !== 'string')
        this.fail(`${method} ${path}: a ${res.status} without a §7 body`, json)
      if (json.requestId !== requestId) this.fail(`${method} ${path}: the §7 body lacks the request id`, json)
    }
    if (actor && !path.startsWith('/api/auth/')) {
      const live = this.world.live(actor)
      if (!live && res.status !== 401) this.fail(`a revoked credential was answered ${res.status}: ${method} ${path}`, json)
      if (live && res.status === 401) this.fail(`a live credential was refused: ${method} ${path}`, json)
    }
    return answer
  }

  /** §8: an answer about something out of scope must be the answer about something absent. */
  same(
    what: string,
    across: Answer | Json,
    acrossIds: (string | undefined)[],
    absent: Answer | Json,
    absentIds: (string | undefined)[],
  ): void {
    const a = shapeOf(across, ...acrossIds)
    const b = shapeOf(absent, ...absentIds)
    if (a !== b) this.fail(`leak: ${what} answers differently across the boundary than for something absent`, { across: a, absent: b })
    this.count('leak checks')
  }

  /** A UUID no one has used. */
  ghost(): string {
    return uuidv7()
  }

  /**
   * (c) A write the server says it made: the record must have been the actor's to write, it
   * must stay in the actor's scope, and its version is the next one (else a write went unseen).
   * The version is expected in the history with this request id and user.
   */
  approve(actor: Actor, requestId: string, model: string, wire: Json, before: RecordRef | undefined): RecordRef {
    const scope = this.world.scopeOf(actor)
    if (before && !this.world.sees(actor, before))
      this.fail(`unauthorised write: ${model} ${before.id} is outside the writer's scope`, { actor: World.actorKey(actor), wire })
    const at = {
      orgId: typeof wire.orgId === 'string' ? wire.orgId : null,
      ownerId: typeof wire.ownerId === 'string' ? wire.ownerId : null,
    }
    if (!World.inScope(this.world.modelScope(model), scope, at))
      this.fail(`unauthorised write: the ${model} was put outside the writer's scope`, { actor: World.actorKey(actor), wire })
    const version = Number(wire.version)
    const known = before?.version ?? 0
    if (version > known + 1) this.fail(`${model} ${wire.id} jumped from version ${known} to ${version}: a write went unseen`, wire)
    if (version === known + 1) {
      this.world.expectedHistory.set(`${model}:${wire.id}:${version}`, { requestId, userId: World.userId(actor) })
    }
    return this.world.noteRecord(model, wire)
  }

  /** A REST delete answered 204: the next version is a tombstone. */
  approveDelete(actor: Actor, requestId: string, before: RecordRef): void {
    if (!this.world.sees(actor, before)) this.fail(`unauthorised delete of ${before.model} ${before.id}`, World.actorKey(actor))
    before.version += 1
    before.deleted = true
    this.world.expectedHistory.set(`${before.model}:${before.id}:${before.version}`, { requestId, userId: World.userId(actor) })
  }

  /** Opens a socket whose upgrade carries a request id of this round. */
  async socket(): Promise<{ client: WsClient; requestId: string }> {
    const requestId = this.nextRequestId()
    const client = await connectWs(this.server.url, { headers: { 'x-request-id': requestId } })
    return { client, requestId }
  }
}
