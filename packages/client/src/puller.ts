/**
 * Pulling to the end (§3): pages from the replica's cursor until the server has no more. A
 * cursor the server refuses (§2 `cursor_expired`, §8 `scope_changed`) turns the pull into a
 * full resync from no cursor, which drops what the new snapshot lacks once its last page is
 * in, and keeps every pending local change.
 */
import { needsResync } from './errors.ts'
import type { AbortSignalLike } from './platform.ts'
import type { Replica } from './replica.ts'
import { finishResync, startResync, startWantedResync } from './server-apply.ts'
import type { SyncChannel } from './sync-channel.ts'

/**
 * Pulls pages through `channel` until none is left; resyncs when the cursor is refused, telling
 * `resynced` why (a `scope_changed` there is how an HTTP client learns of a scope change).
 */
export async function pullToEnd(
  replica: Replica,
  channel: SyncChannel,
  signal?: AbortSignalLike,
  resynced?: (error: unknown) => void,
): Promise<void> {
  let resyncs = 0
  for (let checks = 0; ; checks++) {
    for (;;) {
      let more: boolean
      try {
        more = await channel.pullPage(signal)
      } catch (e) {
        // A pull from no cursor cannot be refused for its cursor: a second refusal is a real failure.
        if (!needsResync(e) || resyncs > 0) throw e
        resyncs += 1
        await startResync(replica)
        resynced?.(e)
        continue
      }
      if (!more) break
    }
    if (replica.resyncSeen) await finishResync(replica)
    // Records whose scope is unknown (`Replica.unverified`): another resync tells (a few at most
    // in a row; past that the sync work asks again after its next push).
    if (checks >= 2 || !(await startWantedResync(replica))) return
  }
}
