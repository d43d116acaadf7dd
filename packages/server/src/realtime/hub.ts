/**
 * The hub of one process: hears every commit on the bus, puts commits in position order and
 * fans each out to the connected WebSockets (PROTOCOL.md §6). Connections come and go; what
 * each may see is decided per commit (scope §8, models filter).
 */
import type { Schema } from '@pulse/core'
import type { Bus } from '../bus/bus.ts'
import { createCommitOrder } from './commit-order.ts'
import { createFanOut, type LiveConnection } from './fan-out.ts'

/** What `createHub` takes. */
export interface HubOptions {
  bus: Bus
  schema: Schema
  /** How long a commit waits for the commits before it (default 100 ms). */
  gapWaitMs?: number
  /** A connection with more than this many bytes queued is poked instead (default 1 MiB). */
  maxBufferedBytes?: number
  /** A commit larger than this for a connection is poked instead of sent live (default 4 MiB). */
  maxMessageBytes?: number
  /** Where a failing dispatch goes. */
  onError(error: unknown): void
}

/** The live side of one process. */
export interface Hub {
  /** The last position dispatched in order; undefined until the first commit arrives. */
  readonly head: number | undefined
  /** Connections registered. */
  readonly size: number
  /** Registers a connection; it receives commits while its mode is `live`. */
  add(connection: LiveConnection): void
  remove(connection: LiveConnection): void
  /** Unsubscribes from the bus and forgets every connection. */
  close(): void
}

/** Subscribes to `bus` and starts dispatching. */
export function createHub(options: HubOptions): Hub {
  const connections = new Set<LiveConnection>()
  const fanOut = createFanOut({
    schema: options.schema,
    ...(options.maxBufferedBytes !== undefined ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
  })
  const order = createCommitOrder({
    dispatch: (message) => fanOut(message, connections),
    onError: options.onError,
    ...(options.gapWaitMs !== undefined ? { gapWaitMs: options.gapWaitMs } : {}),
  })
  const unsubscribe = options.bus.subscribe((message) => order.accept(message))

  return {
    get head() {
      return order.head
    },
    get size() {
      return connections.size
    },
    add(connection) {
      connections.add(connection)
    },
    remove(connection) {
      connections.delete(connection)
    },
    close() {
      unsubscribe()
      order.close()
      connections.clear()
    },
  }
}
