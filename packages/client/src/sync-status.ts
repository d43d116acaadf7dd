/**
 * The sync status an app shows (seed 004's status indicators): connectivity, the transport in
 * use, what waits in the outbox, when the client last caught up, the last error. One frozen
 * snapshot, replaced only when a field changes, so it suits `useSyncExternalStore` as is.
 */
import type { SyncErrorInfo } from './local-record.ts'

/** Where syncing stands. */
export interface SyncStatus {
  /** The local store is loaded: reads and writes are served. */
  readonly ready: boolean
  /** Connected: the socket is open and caught up, or the server answers over HTTP. */
  readonly online: boolean
  /** How the client talks to the server now; null while disconnected (and until the first sync over it is done). */
  readonly transport: 'websocket' | 'http' | null
  /** A pull or a push is under way. */
  readonly syncing: boolean
  /**
   * Online, nothing waits to be pushed, and the last pull reached the server's head (on the
   * socket, changes then keep coming live). `client.whenSynced()` waits for it.
   */
  readonly upToDate: boolean
  /** Mutations waiting to be sent or answered (PENDING and SYNCING). */
  readonly pending: number
  /** Mutations that gave up after their last attempt (FAILED); `retryFailed()` sends them again. */
  readonly failed: number
  /** Mutations the server refused (§4 `rejected`), listed with their reasons by `client.rejections()`. */
  readonly rejected: number
  /** When the client last caught up with the server or had a push answered (ISO-8601). */
  readonly lastSyncedAt: string | null
  /** The last background failure or refused mutation, with when it happened. */
  readonly lastError: (SyncErrorInfo & { readonly at: string }) | null
  /**
   * Tabs sharing one store: `leader` when this tab owns it and syncs, `follower` when it writes
   * through the tab that does (the other fields are then that tab's); null when not shared.
   */
  readonly tab: 'leader' | 'follower' | null
}

/** The status before anything happened. */
export const INITIAL_STATUS: SyncStatus = Object.freeze({
  ready: false,
  online: false,
  transport: null,
  syncing: false,
  upToDate: false,
  pending: 0,
  failed: 0,
  rejected: 0,
  lastSyncedAt: null,
  lastError: null,
  tab: null,
})

/** Holds the status snapshot and its listeners. */
export class StatusStore {
  private current: SyncStatus = INITIAL_STATUS
  private caughtUp = false
  private readonly listeners = new Set<() => void>()

  constructor(private readonly onError: (error: unknown) => void) {}

  get(): SyncStatus {
    return this.current
  }

  /** Changes some fields (`upToDate` follows from the others); listeners hear about it only if one actually changed. */
  update(changes: Partial<Omit<SyncStatus, 'upToDate'>>): void {
    const next = { ...this.current, ...changes }
    next.upToDate = next.online && this.caughtUp && !next.syncing && next.pending === 0
    this.set(next)
  }

  private set(next: SyncStatus): void {
    const keys = Object.keys(next) as (keyof SyncStatus)[]
    if (keys.every((k) => Object.is(this.current[k], next[k]))) return
    this.current = Object.freeze(next)
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (e) {
        this.onError(e)
      }
    }
  }

  /** Shows another tab's status (the tab that owns the store), with this tab's own fields on top. */
  mirror(status: SyncStatus, own: Partial<SyncStatus>): void {
    this.caughtUp = status.upToDate
    this.set(Object.freeze({ ...status, ...own }))
  }

  /** Whether the last pull reached the server's head (a poke or a new connection says it may not have). */
  setCaughtUp(caughtUp: boolean): void {
    this.caughtUp = caughtUp
    this.update({})
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
}
