/** The client's events: typed, synchronous, a failing listener reported and skipped. */
import type { Conflict, WireRecord } from '@pulse/core'
import type { SyncErrorInfo } from './local-record.ts'

/** Events and their payloads. */
export interface ClientEvents {
  /** A push answered `conflict` (§4): a field with the `manual` policy needs a person; `client.resolveConflict` settles it. */
  conflict: { readonly model: string; readonly record: WireRecord | undefined; readonly conflict: Conflict }
  /** A push answered `rejected`: the record now carries `syncError`. */
  rejected: { readonly model: string; readonly id: string; readonly op: string; readonly error: SyncErrorInfo }
}

/** Listeners by event. */
export class Emitter {
  private readonly listeners = new Map<keyof ClientEvents, Set<(payload: never) => void>>()

  constructor(private readonly onError: (error: unknown) => void) {}

  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        ;(listener as (p: ClientEvents[E]) => void)(payload)
      } catch (e) {
        this.onError(e)
      }
    }
  }
}
