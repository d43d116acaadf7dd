/**
 * The adversary fuzz's reference model: who exists (users, devices, API tokens, organizations,
 * invitations), which records and conflicts there are and where they belong, and from that
 * who may see what (PROTOCOL.md §8, §9). Moves update it only after the server confirmed a
 * change; checks compare every answer with what it allows.
 */
import type { WsClient } from '../ws-client.ts'

/** Organization roles (§9). */
export type Role = 'owner' | 'admin' | 'member'

/** A registered user. */
export interface UserRef {
  name: string
  id: string
  email: string
  /** A server admin (sees and writes everything). */
  admin: boolean
  /** The user's scope epoch: raised by every change of their memberships (§8). */
  epoch: number
  devices: DeviceRef[]
}

/** One of a user's devices and its current session. */
export interface DeviceRef {
  user: UserRef
  id: string
  access: string
  refresh: string
  /** Which login's family of refresh tokens is current (a replay revokes only its own family). */
  family: number
  /** Refresh tokens already rotated away, with their family (presenting one is a replay). */
  used: { token: string; family: number }[]
  /** False once signed out (logout, replay, removal): every request with its tokens is refused. */
  alive: boolean
  /** Removed: logging in again makes a new device. */
  removed: boolean
}

/** An API token. */
export interface TokenRef {
  id: string
  token: string
  orgId: string | null
  admin: boolean
  revoked: boolean
  /** The service clientId it pushes as (shared by the tokens of one organization). */
  clientId: string
}

/** An organization. */
export interface OrgRef {
  id: string
  name: string
  members: Map<string, Role>
  deleted: boolean
}

/** A record, as far as scope goes. */
export interface RecordRef {
  model: string
  id: string
  orgId: string | null
  ownerId: string | null
  deleted: boolean
  version: number
  vclock: Record<string, number>
  /** Every organization and owner it has had: a removal entry (§8) may reach those. */
  orgsEver: Set<string>
  ownersEver: Set<string>
}

/** A conflict (§5). */
export interface ConflictRef {
  id: string
  model: string
  recordId: string
  open: boolean
}

/** A pending invitation. */
export interface InvitationRef {
  id: string
  orgId: string
  /** The username, lower-cased. */
  username: string
  role: Role
  open: boolean
}

/** Who makes a move: a user's device, or an API token with its service clientId. */
export type Actor = { kind: 'device'; device: DeviceRef } | { kind: 'token'; token: TokenRef }

/** An open socket and what its hello saw. */
export interface SocketRef {
  actor: Actor
  client: WsClient
  /** The upgrade's request id: history entries of its pushes carry it. */
  requestId: string
  clientId: string
  /** The scope of its hello: organizations, user, admin. A change of them closes it (§6). */
  orgIds: Set<string>
  userId: string | null
  admin: boolean
  /** Messages already checked. */
  checked: number
  /** Set when a change should have closed it: the index of the first message after the change. */
  revokedAt?: number
  /** The records' versions at the revocation: nothing newer may reach it. */
  revokedVersions?: Map<string, number>
}

/** The model's scope in the fuzz schema. */
export type ModelScope = 'org' | 'owner' | 'global'

/** The reference state of one server. */
export class World {
  readonly users: UserRef[] = []
  readonly tokens: TokenRef[] = []
  readonly orgs = new Map<string, OrgRef>()
  readonly records = new Map<string, RecordRef>()
  readonly conflicts = new Map<string, ConflictRef>()
  readonly invitations = new Map<string, InvitationRef>()
  readonly sockets: SocketRef[] = []
  /** clientId → who first pushed as it (§4: its owner from then on). */
  readonly clientOwners = new Map<string, string>()
  /** clientId → last mid the server recorded (pushes answer it). */
  readonly lastMid = new Map<string, number>()
  /** Expected history: `model:id:version` → the request id and user that wrote that version. */
  readonly expectedHistory = new Map<string, { requestId: string; userId: string | null }>()
  /** Last cursor each actor was handed by a pull, with the epoch of its user then. */
  readonly cursors = new Map<string, { cursor: string; epoch: number }>()

  constructor(readonly scopes: ReadonlyMap<string, ModelScope>) {}

  static key(model: string, id: string): string {
    return `${model}:${id}`
  }

  record(model: string, id: string): RecordRef | undefined {
    return this.records.get(World.key(model, id))
  }

  /** A stable name for an actor (cursor bookkeeping, messages). */
  static actorKey(actor: Actor): string {
    return actor.kind === 'device' ? `${actor.device.user.name}/${actor.device.id}` : `token:${actor.token.id}`
  }

  static userId(actor: Actor): string | null {
    return actor.kind === 'device' ? actor.device.user.id : null
  }

  static clientId(actor: Actor): string {
    return actor.kind === 'device' ? actor.device.id : actor.token.clientId
  }

  /** Whether the actor's credential still holds. */
  live(actor: Actor): boolean {
    return actor.kind === 'device' ? actor.device.alive : !actor.token.revoked
  }

  admin(actor: Actor): boolean {
    return actor.kind === 'device' ? actor.device.user.admin : actor.token.admin
  }

  /** The organizations the actor is in now. */
  orgIdsOf(actor: Actor): string[] {
    if (actor.kind === 'token') {
      const org = actor.token.orgId ? this.orgs.get(actor.token.orgId) : undefined
      return org && !org.deleted ? [org.id] : []
    }
    return this.orgsOfUser(actor.device.user.id)
  }

  orgsOfUser(userId: string): string[] {
    return [...this.orgs.values()].filter((o) => !o.deleted && o.members.has(userId)).map((o) => o.id)
  }

  roleOf(userId: string | null, orgId: string): Role | undefined {
    const org = this.orgs.get(orgId)
    return userId && org && !org.deleted ? org.members.get(userId) : undefined
  }

  epochOf(actor: Actor): number {
    return actor.kind === 'device' ? actor.device.user.epoch : 0
  }

  /** Whether an actor with this scope may see a record placed at `orgId` / `ownerId` (§8). */
  static inScope(
    scope: ModelScope,
    who: { admin: boolean; orgIds: readonly string[] | ReadonlySet<string>; userId: string | null },
    at: { orgId: string | null; ownerId: string | null },
  ): boolean {
    if (who.admin || scope === 'global') return true
    if (scope === 'org') return at.orgId !== null && [...who.orgIds].includes(at.orgId)
    return at.ownerId !== null && at.ownerId === who.userId
  }

  /** The actor's scope now. */
  scopeOf(actor: Actor): { admin: boolean; orgIds: string[]; userId: string | null } {
    return { admin: this.admin(actor), orgIds: this.orgIdsOf(actor), userId: World.userId(actor) }
  }

  /** Whether the actor may see (and so write) the record now. */
  sees(actor: Actor, record: RecordRef): boolean {
    return World.inScope(this.modelScope(record.model), this.scopeOf(actor), record)
  }

  modelScope(model: string): ModelScope {
    const scope = this.scopes.get(model)
    if (!scope) throw new Error(`unknown model ${model}`)
    return scope
  }

  /** Whether a removal entry for this record may reach a reader with this scope (it was once in it). */
  mayHearRemoval(
    record: RecordRef | undefined,
    who: { admin: boolean; orgIds: readonly string[] | ReadonlySet<string>; userId: string | null },
  ): boolean {
    if (!record) return false
    if (who.admin) return true
    return [...who.orgIds].some((o) => record.orgsEver.has(o)) || (who.userId !== null && record.ownersEver.has(who.userId))
  }

  /** Notes a record's state from an answer the checks accepted. */
  noteRecord(model: string, wire: Record<string, unknown>): RecordRef {
    const id = String(wire.id)
    const scope = this.modelScope(model)
    const orgId = scope === 'org' && typeof wire.orgId === 'string' ? wire.orgId : null
    const ownerId = scope === 'owner' && typeof wire.ownerId === 'string' ? wire.ownerId : null
    let ref = this.record(model, id)
    if (!ref) {
      ref = { model, id, orgId, ownerId, deleted: false, version: 0, vclock: {}, orgsEver: new Set(), ownersEver: new Set() }
      this.records.set(World.key(model, id), ref)
    }
    ref.orgId = orgId
    ref.ownerId = ownerId
    ref.deleted = wire.deletedAt !== null && wire.deletedAt !== undefined
    ref.version = Number(wire.version)
    ref.vclock = { ...(wire.vclock as Record<string, number>) }
    if (orgId) ref.orgsEver.add(orgId)
    if (ownerId) ref.ownersEver.add(ownerId)
    return ref
  }

  /** Live devices and tokens, as actors. */
  actors(): Actor[] {
    const out: Actor[] = []
    for (const u of this.users) for (const d of u.devices) if (!d.removed) out.push({ kind: 'device', device: d })
    for (const t of this.tokens) out.push({ kind: 'token', token: t })
    return out
  }

  liveOrgs(): OrgRef[] {
    return [...this.orgs.values()].filter((o) => !o.deleted)
  }

  /** Open sockets that a change of these users' memberships closes (§6). */
  socketsOfUsers(userIds: readonly string[]): SocketRef[] {
    return this.sockets.filter((s) => s.revokedAt === undefined && s.userId !== null && userIds.includes(s.userId))
  }
}
