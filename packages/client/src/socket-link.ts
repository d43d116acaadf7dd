/**
 * The sync loop's socket, from the attempt that opens it to its end: opening it for the
 * replica, finishing its catch-up, and routing what the server says to the loop. While the
 * loop is not listening to it yet (it is still catching up), a poke, a scope change or the end
 * of the connection is remembered on the link for the loop to act on when it takes it.
 */
import { isPulseError } from '@pulse/core'
import { isUnauthorized, needsResync } from './errors.ts'
import type { Replica } from './replica.ts'
import { finishResync, startResync, startWantedResync } from './server-apply.ts'
import { openSocketChannel, type SocketChannelOptions, type SyncChannel } from './sync-channel.ts'
import type { SocketSession } from './transports/socket-session.ts'

/** An open socket and what it said before the loop listened. */
export interface SocketLink {
  readonly session: SocketSession
  readonly channel: SyncChannel
  /** The server poked (pull when taking the link). */
  poked: boolean
  /** The server said the scope changed: this socket's view is stale. */
  scopeChanged: boolean
  /** The socket ended, and why. */
  lost: Error | undefined
}

/** Where a link's messages go once the loop listens to it. */
export interface SocketRoutes {
  /** True while the loop syncs through this link. */
  listening(link: SocketLink): boolean
  poke(): void
  scopeChanged(): void
  lost(error: Error): void
  /** Anything else worth telling: stray errors, unreadable frames, pages that could not be stored. */
  report(error: unknown): void
}

/**
 * Opens a socket: its link once the hello's catch-up is over; undefined when it cannot be
 * opened (no socket here, unreachable, or refused for a reason HTTP may not share, such as an
 * older protocol version — reported); or the error when the server refused the credentials.
 */
export async function openSocketLink(
  options: Omit<SocketChannelOptions, 'poke' | 'error' | 'closed'>,
  routes: SocketRoutes,
): Promise<SocketLink | Error | undefined> {
  let link: SocketLink | undefined
  const early = { poked: false, scopeChanged: false, lost: undefined as Error | undefined }
  const listening = () => link !== undefined && routes.listening(link)
  try {
    const opened = await openSocketChannel({
      ...options,
      poke: () => {
        if (listening()) routes.poke()
        else if (link) link.poked = true
        else early.poked = true
      },
      error: (error) => {
        if (!isPulseError(error) || error.code !== 'scope_changed') routes.report(error)
        else if (listening()) routes.scopeChanged()
        else if (link) link.scopeChanged = true
        else early.scopeChanged = true
      },
      closed: (error) => {
        const why = error instanceof Error ? error : new Error(String(error))
        if (listening()) routes.lost(why)
        else if (link) link.lost = why
        else early.lost = why
      },
    })
    link = { ...opened, ...early }
    return link
  } catch (e) {
    if (isUnauthorized(e)) return e as Error
    if (isPulseError(e)) routes.report(e)
    return undefined
  }
}

/**
 * After the hello: nothing when the catch-up reached the head (but ending a resync under way);
 * a pull from no cursor when the hello's cursor was refused (`resynced` hears why); a pull on
 * when the catch-up was cut short otherwise.
 */
export async function finishCatchUp(
  replica: Replica,
  link: SocketLink,
  pullToEnd: (channel: SyncChannel) => Promise<void>,
  resynced: (error: unknown) => void,
): Promise<void> {
  const error = link.session.catchUpError
  if (!error) {
    if (replica.resyncSeen) await finishResync(replica)
    // A record kept by the resync has an unknown scope (`Replica.unverified`): resync again.
    if (!(await startWantedResync(replica))) return
  } else if (needsResync(error)) {
    await startResync(replica)
    resynced(error)
  }
  await pullToEnd(link.channel)
}
