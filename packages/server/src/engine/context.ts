/**
 * Who is doing something, and on which request. Every engine call takes one: the write path
 * records it in history, and scope (PROTOCOL.md §8) is decided from it.
 */

/** The caller of an engine function. */
export interface Actor {
  /** The user, or null for the system itself (CLI, jobs) and, until accounts exist, REST. */
  readonly userId: string | null
  /** The organizations the user belongs to. */
  readonly orgIds: readonly string[]
  /** The device (the sync `clientId`) the change comes from, when known. */
  readonly deviceId: string | null
  /** Admins and the system see and write every record. */
  readonly admin: boolean
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
 * service (API token) only with clientIds that are not devices' (it would otherwise move a
 * device's lastMid, and that device's next mutations would be taken for duplicates); admins
 * and the system as any.
 */
export function mayUseClientId(actor: Actor, clientId: string): boolean {
  if (actor.deviceId !== null) return actor.deviceId === clientId
  return actor.admin || !clientId.startsWith(DEVICE_ID_PREFIX)
}

/** The system actor: full access, no user. Used by the CLI, jobs and tests. */
export const SYSTEM_ACTOR: Actor = Object.freeze({ userId: null, orgIds: Object.freeze([]), deviceId: null, admin: true })

/** A context for the system actor. */
export function systemContext(requestId: string | null = null): Context {
  return { actor: SYSTEM_ACTOR, requestId }
}
