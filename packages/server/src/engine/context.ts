/**
 * Who is doing something, and on which request. Every engine call takes one: the write path
 * records it in history, and scope (PROTOCOL.md §8) is decided from it.
 */
import { SERVER_CLOCK_ID } from './clock-rules.ts'

/** The caller of an engine function. */
export interface Actor {
  /** The user, or null for the system itself (CLI, jobs, a server started with `auth: false`) and for API tokens. */
  readonly userId: string | null
  /** The organizations the user belongs to. */
  readonly orgIds: readonly string[]
  /** The device (the sync `clientId`) the change comes from, when known. */
  readonly deviceId: string | null
  /** Admins and the system see and write every record. */
  readonly admin: boolean
  /** The API token's id, when the caller is a service (§9); absent for users and the system. */
  readonly tokenId?: string
  /**
   * Raised whenever the user's memberships change; a cursor issued under another epoch answers
   * `scope_changed` (§8). Absent for the system and for API tokens.
   */
  readonly scopeEpoch?: number
}

/** The context of one engine call. */
export interface Context {
  readonly actor: Actor
  /** The request id, carried into history and logs. */
  readonly requestId: string | null
  readonly signal?: AbortSignal
}

/** Device ids that logins hand out start with this; services pick clientIds without it. */
export const DEVICE_ID_PREFIX = 'dev_'

/**
 * True when the actor may push as `clientId` (§4, §9): a signed-in device only as itself; a
 * service (API token, admin ones included) only with clientIds that are not devices' (it would
 * otherwise move a device's lastMid, and that device's next mutations would be taken for
 * duplicates); the system as any. No one as `server`, the clock entry of plain writes. Which
 * service owns a clientId is checked against storage on push (`clientOwnerOf`).
 */
export function mayUseClientId(actor: Actor, clientId: string): boolean {
  if (clientId === SERVER_CLOCK_ID) return false
  if (actor.userId !== null) return actor.deviceId === clientId
  if (actor.tokenId !== undefined) return !clientId.startsWith(DEVICE_ID_PREFIX)
  return actor.admin
}

/**
 * Who a clientId belongs to once this actor pushes as it (§4): the first owner to push as a
 * clientId keeps it, and pushes by any other are refused, so no one can move another's lastMid
 * or read it. A user's devices belong to the user; a service's clientIds to its organization
 * (so a rotated token keeps them), or to the token itself when it has none; admin tokens share
 * theirs. Null for the system, which may push as any clientId and claims none.
 */
export function clientOwnerOf(actor: Actor): string | null {
  if (actor.userId !== null) return `user:${actor.userId}`
  if (actor.tokenId === undefined) return null
  if (actor.admin) return 'admin'
  const [orgId] = actor.orgIds
  return orgId !== undefined ? `org:${orgId}` : `token:${actor.tokenId}`
}

/** The system actor: full access, no user. Used by the CLI, jobs and tests. */
export const SYSTEM_ACTOR: Actor = Object.freeze({ userId: null, orgIds: Object.freeze([]), deviceId: null, admin: true })

/** A context for the system actor. */
export function systemContext(requestId: string | null = null): Context {
  return { actor: SYSTEM_ACTOR, requestId }
}
