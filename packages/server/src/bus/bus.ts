/**
 * The bus seam: how committed changes travel from the process that wrote them to every process
 * that serves live streams (PROTOCOL.md §6). One message is one commit. Beside the commits, a
 * control channel carries access changes (`control.ts`: memberships, logouts, revoked tokens).
 * In-process (`createMemoryBus`) for a single server, Redis (`createRedisBus`) for several.
 */
import type { WireRecord } from '@pulse/core'
import type { ControlMessage } from './control.ts'

/** One change of a commit, as it travels on the bus. */
export interface BusChange {
  model: string
  /** Position in the change order. */
  seq: number
  /** The record's owner and organization (null when the model has none), for scope (§8). */
  ownerId: string | null
  orgId: string | null
  /** The record's state after the commit, in wire form (§1); only `{ id }` for a removal. */
  record: WireRecord | { id: string }
  /** §8: the record left the scope named by `ownerId` / `orgId`; readers there drop it. */
  removed?: true
}

/**
 * One commit. Its positions are contiguous: `prev` is the position just before its first
 * change and `last` its last one, and every position up to `prev` was allocated before it (on
 * PostgreSQL some may still be committing, and arrive in their own messages; docs/change-order.md),
 * so a reader that has seen everything up to `prev` can apply this message and stand at `last`.
 */
export interface BusMessage {
  prev: number
  last: number
  /** In position order. */
  changes: BusChange[]
}

/** A publish/subscribe channel of commits, shared by every process of one deployment. */
export interface Bus {
  /**
   * Sends a commit to every subscriber of every process, this one included (exactly once
   * each). Rejects when the message could not be handed to the transport.
   */
  publish(message: BusMessage, signal?: AbortSignal): Promise<void>
  /**
   * Calls `handler` with each message, in the order the transport delivers them (which may
   * differ from position order across processes). The message is shared: do not mutate it.
   * Returns the unsubscribe function.
   */
  subscribe(handler: (message: BusMessage) => void): () => void
  /**
   * Sends an access change to every process, this one included (once each), on a channel of
   * its own: commits and control messages are not ordered with respect to each other.
   */
  publishControl(message: ControlMessage, signal?: AbortSignal): Promise<void>
  /** Calls `handler` with each control message. Returns the unsubscribe function. */
  subscribeControl(handler: (message: ControlMessage) => void): () => void
  /** Stops delivering and releases connections. Idempotent. */
  close(): Promise<void>
}

/** Where a bus reports failures it cannot return to a caller (delivery, connection). */
export type BusErrorHandler = (error: unknown) => void

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string'
}

function isBusChange(value: unknown): value is BusChange {
  return (
    isObject(value) &&
    typeof value.model === 'string' &&
    isPosition(value.seq) &&
    isNullableString(value.ownerId) &&
    isNullableString(value.orgId) &&
    isObject(value.record) &&
    typeof value.record.id === 'string' &&
    (value.removed === undefined || value.removed === true)
  )
}

/** True when `value` (e.g. a parsed payload from another process) is a well-formed message. */
export function isBusMessage(value: unknown): value is BusMessage {
  if (!isObject(value) || !isPosition(value.prev) || !isPosition(value.last) || value.last <= value.prev) return false
  const { changes } = value
  return Array.isArray(changes) && changes.length > 0 && changes.every(isBusChange)
}
