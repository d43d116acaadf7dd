/** The in-process bus: for a single server (the default of `pulse serve`) and for tests. */
import type { Bus, BusErrorHandler, BusMessage } from './bus.ts'

/** What `createMemoryBus` takes. */
export interface MemoryBusOptions {
  /** Where a failing subscriber's error goes (default: console.error). */
  onError?: BusErrorHandler
}

/**
 * A bus within one process. `publish` delivers on a microtask, after the publisher's current
 * work, in publish order; a subscriber that throws does not stop the others.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const onError = options.onError ?? ((e: unknown) => console.error('pulse: bus subscriber failed', e))
  const handlers = new Set<(message: BusMessage) => void>()
  let closed = false

  function deliver(message: BusMessage): void {
    for (const handler of handlers) {
      try {
        handler(message)
      } catch (e) {
        onError(e)
      }
    }
  }

  return {
    async publish(message, signal) {
      signal?.throwIfAborted()
      if (closed) throw new Error('the bus is closed')
      queueMicrotask(() => {
        if (!closed) deliver(message)
      })
    },
    subscribe(handler) {
      // Wrapped so that one function subscribed twice gets two subscriptions.
      const entry = (message: BusMessage) => handler(message)
      handlers.add(entry)
      return () => {
        handlers.delete(entry)
      }
    },
    async close() {
      closed = true
      handlers.clear()
    },
  }
}
