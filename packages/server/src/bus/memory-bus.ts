/** The in-process bus: for a single server (the default of `pulse serve`) and for tests. */
import type { Bus, BusErrorHandler, BusMessage } from './bus.ts'
import type { ControlMessage } from './control.ts'

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
  const controlHandlers = new Set<(message: ControlMessage) => void>()
  let closed = false

  function deliver<M>(message: M, to: Set<(message: M) => void>): void {
    for (const handler of to) {
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
        if (!closed) deliver(message, handlers)
      })
    },
    async publishControl(message, signal) {
      signal?.throwIfAborted()
      if (closed) throw new Error('the bus is closed')
      queueMicrotask(() => {
        if (!closed) deliver(message, controlHandlers)
      })
    },
    subscribeControl(handler) {
      const entry = (message: ControlMessage) => handler(message)
      controlHandlers.add(entry)
      return () => {
        controlHandlers.delete(entry)
      }
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
      controlHandlers.clear()
    },
  }
}
