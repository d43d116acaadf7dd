/**
 * The sync loop's work over its connected channel: pulls to the end when asked (a poke, a
 * reconnect, a poll, `sync()`), pushes what may go (after local writes, and again when a
 * backed-off mutation is due); one pull and one push at a time. The push after a local write
 * is adaptive: when idle (no push under way, none started within the debounce) it goes on the
 * next turn, so one write is sent at once and the writes of one turn together; under load it
 * waits the debounce, so a stream of writes goes in batches, one push per debounce at most. It knows nothing of
 * connection states: the loop hands it the current channel and hears of every failure
 * through `failed`, where it decides whether the channel is lost.
 */
import type { AbortSignalLike, Clock } from './platform.ts'
import { pullToEnd } from './puller.ts'
import type { Pusher } from './pusher.ts'
import type { Replica } from './replica.ts'
import { startWantedResync } from './server-apply.ts'
import type { SyncChannel } from './sync-channel.ts'
import type { SyncReporter } from './sync-reporter.ts'
import type { StatusStore } from './sync-status.ts'

/** What `createSyncWork` takes. */
export interface SyncWorkOptions {
  replica: Replica
  pusher: Pusher
  reporter: SyncReporter
  status: StatusStore
  clock: Clock
  /** Under load (a push under way or just started), wait this long after a local write before pushing, to batch. */
  pushDebounceMs: number
  /** Aborted when the client closes. */
  signal: AbortSignalLike
  /** The channel work goes through now (undefined while disconnected). */
  channel(): SyncChannel | undefined
  /** Work through `channel` failed with `error`. */
  failed(channel: SyncChannel, error: unknown): void
  /** A pull was refused for its cursor and started again from none (§2, §8). */
  resynced(error: unknown): void
}

/** The work scheduler. */
export interface SyncWork {
  /** Pulls to the end through the current channel (again after the running pull, if one runs). */
  pullSoon(): void
  /** Pushes what may go through the current channel. */
  pushSoon(): void
  /** A local write happened: push on the next turn when idle, after the debounce under load. */
  localWrite(): void
  /** Pulls to the end, then pushes, through `channel`; rejects with what stopped it (after `failed` heard of it). */
  syncNow(channel: SyncChannel, signal?: AbortSignalLike): Promise<void>
  /** Cancels timers and waits for the work under way. */
  stop(): Promise<void>
}

/** Creates the scheduler; nothing runs until asked. */
export function createSyncWork(options: SyncWorkOptions): SyncWork {
  const { replica, reporter, status, clock } = options
  let pulling: Promise<void> | undefined
  let pullAgain = false
  let pushing: Promise<void> | undefined
  let cancelDebounce: (() => void) | undefined
  let cancelDue: (() => void) | undefined
  let stopped = false
  /** Pushes under way, and when the last one started (the load the debounce answers). */
  let pushesInFlight = 0
  let lastPushAt = Number.NEGATIVE_INFINITY

  const pull = (through: SyncChannel, signal: AbortSignalLike = options.signal): Promise<void> =>
    reporter.track(pullToEnd(replica, through, signal, options.resynced))

  function pullSoon(): void {
    const through = options.channel()
    if (!through || stopped) return
    status.setCaughtUp(false)
    if (pulling !== undefined) {
      pullAgain = true
      return
    }
    pulling = (async () => {
      do {
        pullAgain = false
        await pull(through)
        reporter.synced()
      } while (pullAgain && options.channel() === through)
      if (options.channel() === through) status.setCaughtUp(true)
    })()
      .catch((e: unknown) => options.failed(through, e))
      .finally(() => {
        pulling = undefined
      })
  }

  /** Pushes through `through`; when a mutation waits out a backoff, pushes again once it is due. */
  async function push(through: SyncChannel): Promise<void> {
    cancelDue?.()
    cancelDue = undefined
    // Nothing waits: no push, and no blip of `syncing` in the status.
    if (replica.outbox.counts().pending === 0) return
    pushesInFlight += 1
    lastPushAt = clock.now()
    try {
      pushing = options.pusher.run(through).then(() => resyncIfWanted(through))
      await reporter.track(pushing)
    } finally {
      pushesInFlight -= 1
      const due = replica.outbox.nextDueAt()
      const now = clock.now()
      if (due !== undefined && due > now && !stopped) cancelDue = clock.after(due - now, pushSoon)
    }
  }

  /**
   * A record kept through a resync for its pending edits has them answered: resync again to
   * learn whether it is still in scope (`Replica.unverified`). Started inside the push's
   * tracking, so the status never shows up to date in between.
   */
  async function resyncIfWanted(through: SyncChannel): Promise<void> {
    if (stopped || !(await startWantedResync(replica))) return
    if (options.channel() === through) pullSoon()
  }

  function pushSoon(): void {
    const through = options.channel()
    if (!through || stopped) return
    push(through).catch((e: unknown) => options.failed(through, e))
  }

  return {
    pullSoon,
    pushSoon,
    localWrite() {
      if (cancelDebounce || stopped) return
      const busy = pushesInFlight > 0 || clock.now() - lastPushAt < options.pushDebounceMs
      cancelDebounce = clock.after(busy ? options.pushDebounceMs : 0, () => {
        cancelDebounce = undefined
        pushSoon()
      })
    },
    async syncNow(through, signal) {
      try {
        await pull(through, signal)
        reporter.synced()
        await push(through)
      } catch (e) {
        options.failed(through, e)
        throw e
      }
      await replica.flushed()
    },
    async stop() {
      stopped = true
      cancelDebounce?.()
      cancelDue?.()
      await Promise.allSettled([pulling, pushing])
    },
  }
}
