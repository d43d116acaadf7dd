/**
 * How a client reaches its store. Alone, it owns it: it loads the replica, runs the sync loop,
 * and runs commands on it. When tabs of one origin share the store (IndexedDB, with Web Locks
 * and BroadcastChannel), the tab holding the store's lock owns it and serves the others
 * (tabs/leader.ts); each other tab follows (tabs/follower.ts): it reads a copy of the store kept
 * live by the owner's committed batches, sends its commands to the owner, and shows the owner's
 * status. When the owner closes or crashes, the lock passes to a waiting tab: it loads the store
 * as its owner and runs its own unanswered commands, and the others send theirs to it.
 */
import { type Schema, uuidv7 } from '@pulse/core'
import type { ClientOptions } from './client-types.ts'
import { type Command, type CommandContext, type ResultOf, runCommand } from './commands.ts'
import type { Emitter } from './events.ts'
import type { ModelVersions } from './live-queries.ts'
import { type AbortSignalLike, type Clock, platformConnectivity, platformWebSocket } from './platform.ts'
import { type RejectionList, retryAfterScopeChange } from './rejections.ts'
import { loadReplica, type Replica, type ReplicaListeners } from './replica.ts'
import type { PushEvents } from './server-apply.ts'
import type { StoreBatch } from './stores/local-store.ts'
import { createSyncLoop } from './sync-loop.ts'
import type { StatusStore, SyncStatus } from './sync-status.ts'
import type { SyncTimings } from './sync-timings.ts'
import { claimLeadership, type Leadership } from './tabs/election.ts'
import { followTabs, type PendingCall, type TabFollower } from './tabs/follower.ts'
import { leadTabs, TAB_CALLS_KEY, type TabLeader } from './tabs/leader.ts'
import { type BroadcastChannelLike, tabsPlatform } from './tabs/tab-channel.ts'
import type { HttpApi } from './transports/http-api.ts'

/** What `openStore` takes: the client's options and the pieces every mode shares. */
export interface StoreAccessOptions {
  options: ClientOptions
  schema: Schema
  timings: SyncTimings
  /** The socket URL. */
  wsUrl: string
  clock: Clock
  http: HttpApi
  status: StatusStore
  versions: ModelVersions
  emitter: Emitter
  rejections: RejectionList
  onError(error: unknown): void
}

/** The client's way to its store, whoever owns it. */
export interface StoreAccess {
  /** Resolves once reads are served (the store loaded, or the owner's copy). */
  readonly ready: Promise<void>
  /** The replica reads use: this tab's own, or its copy of the owner's; undefined until ready. */
  replica(): Replica | undefined
  /** True while this tab owns the store. */
  owns(): boolean
  /** Runs a command where the store is owned; undefined until ready (the caller waits for it). */
  run<C extends Command>(command: C, signal?: AbortSignalLike): Promise<ResultOf<C>> | undefined
  /** Syncs now (this tab owns the store). */
  sync(signal?: AbortSignalLike): Promise<void>
  /** Stops syncing or following, flushes the store, gives the store up to the next tab, closes it. */
  close(error: Error): Promise<void>
}

interface Owned {
  readonly ctx: CommandContext
  readonly leader: TabLeader | undefined
}

/** Opens the store: as its owner, or as a follower of the tab that owns it. */
export function openStore(deps: StoreAccessOptions): StoreAccess {
  const { options, schema, status, versions, rejections, emitter, onError } = deps
  const tabs = tabsPlatform(options.tabs, options.store.sharedName)
  const tab = uuidv7()
  const channel: BroadcastChannelLike | undefined = tabs ? new tabs.BroadcastChannel(tabs.name) : undefined
  let replica: Replica | undefined
  let owned: Owned | undefined
  let owning: Promise<void> | undefined
  let follower: TabFollower | undefined
  let leadership: Leadership | undefined
  let closed = false
  const models = (): Iterable<string> => schema.models.keys()

  const listeners = (mirror: boolean): ReplicaListeners => ({
    records: (touched) => versions.touch(touched),
    outbox: (counts) => {
      // A follower shows the owner's counts (with its status); both list the refused mutations they hold.
      if (!mirror) status.update(counts)
      if (replica) rejections.refresh(replica.outbox.refused())
    },
    committed: (batch: StoreBatch) => owned?.leader?.committed(batch),
  })

  /** Loads the store as its owner and starts syncing; runs this tab's commands left unanswered by a former owner. */
  async function own(left: readonly PendingCall[]): Promise<void> {
    const loaded = await loadReplica({
      store: options.store,
      schema,
      onError,
      clock: deps.clock,
      listeners: listeners(false),
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    })
    const events: PushEvents = {
      conflict: (e) => {
        emitter.emit('conflict', e)
        owned?.leader?.event('conflict', e)
      },
      rejected: (e) => {
        status.update({ lastError: { ...e.error, at: new Date(deps.clock.now()).toISOString() } })
        emitter.emit('rejected', e)
        owned?.leader?.event('rejected', e)
      },
    }
    const loop = createSyncLoop({
      replica: loaded,
      http: deps.http,
      WebSocket: options.WebSocket === null ? undefined : (options.WebSocket ?? platformWebSocket()),
      wsUrl: deps.wsUrl,
      auth: options.auth,
      status,
      connectivity: options.connectivity ?? platformConnectivity(),
      events,
      timings: deps.timings,
      clock: deps.clock,
      onError,
      ...(options.onUnauthorized ? { onUnauthorized: options.onUnauthorized } : {}),
      onScopeChanged: () => {
        const txn = loaded.begin()
        if (retryAfterScopeChange(loaded, txn) > 0) loaded.endInBackground(txn)
      },
    })
    const ctx: CommandContext = { replica: loaded, loop, http: deps.http }
    const seen = channel ? await options.store.getMeta(TAB_CALLS_KEY) : undefined
    const leader = channel ? leadTabs({ channel, tab, ctx, status, seen, onError }) : undefined
    replica = loaded
    owned = { ctx, leader }
    status.update({ ready: true, tab: channel ? 'leader' : null, ...loaded.outbox.counts(), lastSyncedAt: loaded.lastSyncedAt })
    rejections.refresh(loaded.outbox.refused())
    versions.touch(models())
    for (const call of left) leader?.run(tab, call.seq, call.command).then(call.resolve, call.reject)
    if (!closed && options.autoSync !== false) loop.start()
  }

  /** Follows the owner tab: its copy loads once the owner announced itself (its client id is then in the store). */
  function follow(on: BroadcastChannelLike): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const early: StoreBatch[] = []
      let loading = false
      follower = followTabs({
        channel: on,
        tab,
        leader: (clientId) => {
          if (loading) return
          loading = true
          loadReplica({
            store: options.store,
            schema,
            clientId,
            mirror: true,
            clock: deps.clock,
            onError,
            listeners: listeners(true),
          }).then((mirror) => {
            if (owned || closed) return resolve()
            replica = mirror
            for (const batch of early.splice(0)) mirror.absorb(batch)
            status.update({ ready: true, tab: 'follower' })
            rejections.refresh(mirror.outbox.refused())
            versions.touch(models())
            resolve()
          }, reject)
        },
        committed: (batch) => {
          if (owned) return
          if (replica) replica.absorb(batch)
          else early.push(batch)
        },
        status: (s: SyncStatus) => {
          if (!owned) status.mirror(s, { ready: replica !== undefined, tab: 'follower' })
        },
        event: (event, payload) => emitter.emit(event, payload as never),
      })
    })
  }

  /** The owner is gone and the lock is this tab's: it owns the store now. */
  async function takeOver(): Promise<void> {
    if (closed) return
    const left = follower?.takeOver() ?? []
    follower = undefined
    owning = own(left)
    await owning
  }

  async function start(): Promise<void> {
    if (!tabs || !channel) {
      owning = own([])
      return owning
    }
    leadership = await claimLeadership(tabs.locks, tabs.name, onError)
    if (leadership.leading) {
      owning = own([])
      return owning
    }
    const tookOver = leadership.granted.then(takeOver)
    tookOver.catch(onError)
    // Ready as a follower, or as the owner if the lock comes first (the owner went before announcing itself).
    await Promise.race([follow(channel), tookOver])
  }

  const ready = start()
  ready.catch((e: unknown) => {
    status.update({
      lastError: {
        code: 'store_unavailable',
        message: e instanceof Error ? e.message : String(e),
        at: new Date(deps.clock.now()).toISOString(),
      },
    })
    onError(e)
  })

  return {
    ready,
    replica: () => replica,
    owns: () => owned !== undefined,
    run(command, signal) {
      if (owned) return runCommand(owned.ctx, command, undefined, signal)
      if (follower && replica) return follower.call(command)
      return undefined
    },
    sync(signal) {
      return owned ? owned.ctx.loop.sync(signal) : Promise.reject(new Error('this tab does not own the store'))
    },
    async close(error) {
      closed = true
      follower?.close(error)
      try {
        await owning
      } catch {
        // The store never loaded: there is nothing to flush.
      }
      const answered = owned?.leader?.close()
      await owned?.ctx.loop.close()
      await replica?.close()
      await answered
      // Only once everything is stored may the next tab load the store as its owner.
      leadership?.release()
      channel?.close()
      await options.store.close()
    },
  }
}
