/**
 * Sending one commit to every live connection (PROTOCOL.md §6), serialised once per distinct
 * message: connections that may see the same things (same scope, same models filter) share one
 * encoded message, and so do views that happen to see the same changes of this commit (the
 * members of one organization, say): each change is encoded once, each distinct message once. A connection that is behind, or whose send buffer is full, gets one poke, and
 * so does one whose share of a commit is larger than a pull page: it pulls it in pages (§3, §6).
 */
import { encodeCursor, type ModelDefinition, type Schema, type WireRecord } from '@pulse/core'
import type { BusMessage } from '../bus/bus.ts'
import type { Actor } from '../engine/context.ts'
import { inScope, inScopeOf, type RecordScope } from '../engine/scope.ts'
import type { StoredRecord } from '../storage/storage.ts'

/** Where a connection stands in the live stream. */
export type LiveMode = 'live' | 'syncing' | 'behind'

/** A WebSocket connection as the fan-out sees it. */
export interface LiveConnection {
  /** For logs. */
  readonly id: string
  readonly actor: Actor
  /** Selective sync: only these models (undefined: all). */
  readonly models: ReadonlySet<string> | undefined
  /** Connections with equal keys may see exactly the same changes (see `viewKey`). */
  readonly viewKey: string
  /**
   * The position up to which the client has been sent every change in its scope: the last
   * cursor it was sent, or later when what followed was out of its scope.
   */
  cursor: number
  /**
   * `live`: receives commits. `syncing`: a catch-up or a paged pull is under way; receives
   * nothing. `behind`: was poked; receives nothing until it pulls.
   */
  mode: LiveMode
  /** Bytes queued on the socket, not yet handed to the network. */
  readonly bufferedAmount: number
  /** Sends one encoded text message. */
  send(payload: Buffer): void
}

/**
 * The key of what an actor with a models filter is sent: equal keys see equal changes, with
 * equal cursors (a cursor carries the user's scope epoch, §8).
 */
export function viewKey(actor: Actor, models: readonly string[] | undefined): string {
  const scope = actor.admin ? 'admin' : `u:${actor.userId ?? ''}\u0001${[...actor.orgIds].sort().join(',')}`
  return `${scope}\u0002${models ? [...new Set(models)].sort().join(',') : '*'}\u0002${actor.scopeEpoch ?? 0}`
}

/** A `poke` message, encoded. */
export const POKE_PAYLOAD: Buffer = Buffer.from(JSON.stringify({ type: 'poke' }))

/** Options of `createFanOut`. */
export interface FanOutOptions {
  schema: Schema
  /** A connection with more than this many bytes queued is poked instead (default 1 MiB). */
  maxBufferedBytes?: number
  /** A commit whose changes for a connection pass this many bytes is not sent live: poked instead (default 4 MiB). */
  maxMessageBytes?: number
}

/** Default send-buffer limit of a connection. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024
/** Default largest live message: a pull page's default byte bound. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const TOO_LARGE = 'too large'

interface Prepared {
  seq: number
  model: ModelDefinition | undefined
  record: StoredRecord
  json: string
  /** A removal (§8): visible to the scope it names, not by the record's state. */
  removedFrom: RecordScope | undefined
}

function storedOf(record: WireRecord | { id: string }): StoredRecord {
  const { id, version, vclock, createdAt, updatedAt, deletedAt, ...values } = record as WireRecord
  return { id, version, vclock, createdAt, updatedAt, deletedAt, fieldVersions: {}, values }
}

/** Marks a connection behind and sends it one poke. */
export function poke(connection: LiveConnection): void {
  connection.mode = 'behind'
  connection.send(POKE_PAYLOAD)
}

/** Sends commits, in order, to live connections. */
export function createFanOut(options: FanOutOptions): (message: BusMessage, connections: Iterable<LiveConnection>) => void {
  const { schema } = options
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
  const maxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES

  return (message, connections) => {
    let prepared: Prepared[] | undefined
    const prepare = (): Prepared[] =>
      message.changes.map((c) => ({
        seq: c.seq,
        model: schema.models.get(c.model),
        record: storedOf(c.record),
        json: JSON.stringify(
          c.removed ? { model: c.model, record: { id: c.record.id }, removed: true } : { model: c.model, record: c.record },
        ),
        removedFrom: c.removed ? { ownerId: c.ownerId, orgId: c.orgId } : undefined,
      }))
    // One encoded message per view (and, rarely, per starting position): undefined when the
    // view sees nothing of this commit.
    const encoded = new Map<string, Buffer | undefined | typeof TOO_LARGE>()
    // Views that see the same changes with the same cursor (the members of one organization,
    // each a view of their own) share one message too: keyed by what it holds, not who gets it.
    const byContent = new Map<string, Buffer | typeof TOO_LARGE>()

    const encode = (connection: LiveConnection, after: number): Buffer | undefined | typeof TOO_LARGE => {
      prepared ??= prepare()
      const seen: number[] = []
      let length = 0
      for (let i = 0; i < prepared.length; i++) {
        const p = prepared[i] as Prepared
        if (p.seq <= after || !p.model) continue
        if (connection.models && !connection.models.has(p.model.name)) continue
        if (p.removedFrom ? !inScopeOf(connection.actor, p.model, p.removedFrom) : !inScope(connection.actor, p.model, p.record)) continue
        seen.push(i)
        length += p.json.length
      }
      if (seen.length === 0) return undefined
      if (length > maxMessage) return TOO_LARGE
      const epoch = connection.actor.scopeEpoch ?? 0
      const key = `${epoch}\u0001${seen.join(',')}`
      const shared = byContent.get(key)
      if (shared) return shared
      const cursor = JSON.stringify(encodeCursor(message.last, epoch))
      const parts = seen.map((i) => (prepared as Prepared[])[i]?.json)
      const payload = Buffer.from(`{"type":"changes","changes":[${parts.join(',')}],"cursor":${cursor},"hasMore":false}`)
      byContent.set(key, payload)
      return payload
    }

    for (const connection of connections) {
      if (connection.mode !== 'live' || connection.cursor >= message.last) continue
      // §6: a live message only follows on from the last cursor sent; otherwise one poke.
      if (connection.cursor < message.prev || connection.bufferedAmount > maxBuffered) {
        poke(connection)
        continue
      }
      // A pull may have read past `prev`: send only what it has not seen, never an older state.
      const after = connection.cursor
      const key = after === message.prev ? connection.viewKey : `${connection.viewKey}\u0003${after}`
      let payload: Buffer | undefined | typeof TOO_LARGE
      if (encoded.has(key)) payload = encoded.get(key)
      else {
        payload = encode(connection, after)
        encoded.set(key, payload)
      }
      if (payload === TOO_LARGE) {
        poke(connection)
        continue
      }
      connection.cursor = message.last
      if (payload) connection.send(payload)
    }
  }
}
