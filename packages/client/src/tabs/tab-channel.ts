/**
 * How tabs of one origin that share one store talk: the
 * platform's Web Locks (`navigator.locks`, one owner at a time) and BroadcastChannel (messages
 * between the tabs), typed structurally, and the messages they exchange. Messages carry plain
 * data only (structured clone): commands, results, committed store batches, the status.
 */
import type { Command } from '../commands.ts'
import type { ClientEvents } from '../events.ts'
import type { AbortSignalLike } from '../platform.ts'
import type { StoreBatch } from '../stores/local-store.ts'
import type { SyncStatus } from '../sync-status.ts'

/** The Web Locks API as the client uses it (the browser's `navigator.locks` fits). */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignalLike },
    callback: (lock: unknown) => Promise<unknown> | unknown,
  ): Promise<unknown>
}

/** A BroadcastChannel as the client uses it. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void
  close(): void
}

/** A BroadcastChannel constructor. */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/** What sharing a store between tabs takes: its name (the lock's and the channel's) and the two platform pieces. */
export interface TabsOptions {
  /** Default: the store's `sharedName` (an IndexedDB store's database name). */
  readonly name?: string
  /** Default: the platform's `navigator.locks`. */
  readonly locks?: LockManagerLike
  /** Default: the platform's `BroadcastChannel`. */
  readonly BroadcastChannel?: BroadcastChannelConstructor
}

/** Resolved tab sharing. */
export interface TabsPlatform {
  readonly name: string
  readonly locks: LockManagerLike
  readonly BroadcastChannel: BroadcastChannelConstructor
}

/**
 * Tab sharing for a store: on when the store is shared between tabs (it has a `sharedName`) or
 * a name is given, and the platform (or the options) has Web Locks and BroadcastChannel.
 */
export function tabsPlatform(options: TabsOptions | false | undefined, sharedName: string | undefined): TabsPlatform | undefined {
  if (options === false) return undefined
  const name = options?.name ?? sharedName
  const globals = globalThis as unknown as { navigator?: { locks?: LockManagerLike }; BroadcastChannel?: BroadcastChannelConstructor }
  const locks = options?.locks ?? globals.navigator?.locks
  const Channel = options?.BroadcastChannel ?? globals.BroadcastChannel
  if (name === undefined || !locks || !Channel) return undefined
  return { name: `pulse:${name}`, locks, BroadcastChannel: Channel }
}

/** An error as it crosses tabs. */
export interface ErrorShape {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly details?: unknown
}

/** The messages between tabs. `tab` is the sender's id; `to` the one a result answers. */
export type TabMessage =
  | { readonly type: 'hello'; readonly tab: string }
  | { readonly type: 'leader'; readonly tab: string; readonly clientId: string }
  | { readonly type: 'call'; readonly tab: string; readonly seq: number; readonly command: Command }
  | { readonly type: 'result'; readonly to: string; readonly seq: number; readonly value: unknown }
  | { readonly type: 'failure'; readonly to: string; readonly seq: number; readonly error: ErrorShape }
  | { readonly type: 'committed'; readonly tab: string; readonly batch: StoreBatch }
  | { readonly type: 'status'; readonly tab: string; readonly status: SyncStatus }
  | { readonly type: 'event'; readonly tab: string; readonly event: keyof ClientEvents; readonly payload: unknown }

const TYPES: ReadonlySet<string> = new Set(['hello', 'leader', 'call', 'result', 'failure', 'committed', 'status', 'event'])

/** The tab message in a channel event, or undefined for anything else on the channel. */
export function tabMessageOf(data: unknown): TabMessage | undefined {
  const type = (data as { type?: unknown } | null)?.type
  return typeof type === 'string' && TYPES.has(type) ? (data as TabMessage) : undefined
}

/** An error, as data that crosses tabs. */
export function errorShapeOf(error: unknown): ErrorShape {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; details?: unknown } | null
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(e?.details !== undefined ? { details: e.details } : {}),
  }
}
