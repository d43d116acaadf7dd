/**
 * The side of the tab that owns a shared store: it announces itself, runs the other tabs'
 * commands in the order they come, and tells them every batch it committed, its status and its
 * events. Each write it runs for another tab is marked, in the write's own store batch, with
 * that tab's id and the command's sequence number: a command sent again to a new owner after a
 * hand-over (its answer was lost with the old owner) is then answered, not run twice.
 */
import { type Command, type CommandContext, type ResultOf, runCommand } from '../commands.ts'
import type { ClientEvents } from '../events.ts'
import type { Txn } from '../replica.ts'
import type { JsonValue, StoreBatch } from '../stores/local-store.ts'
import type { StatusStore } from '../sync-status.ts'
import { type BroadcastChannelLike, errorShapeOf, type TabMessage, tabMessageOf } from './tab-channel.ts'

/** Meta key of the last command run for each tab. */
export const TAB_CALLS_KEY = 'tabCalls'
/** Tabs whose last command is remembered (the oldest is forgotten first): 64 × ~50 bytes in one meta value. */
export const MAX_TABS_REMEMBERED = 64

const MARKED: ReadonlySet<Command['op']> = new Set(['create', 'update', 'delete'])

/** The owner tab's duties. */
export interface TabLeader {
  /** Runs a command of tab `tab` (this one's own, after a hand-over, included), once. */
  run<C extends Command>(tab: string, seq: number, command: C): Promise<ResultOf<C>>
  /** Tells the other tabs of a batch now in the store. */
  committed(batch: StoreBatch): void
  /** Tells the other tabs of an event. */
  event<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void
  /**
   * Takes no more commands, and resolves once those under way are answered (a tab that closes
   * answers what it ran, so the next owner has less to run again).
   */
  close(): Promise<void>
}

/** What `leadTabs` takes. */
export interface TabLeaderOptions {
  channel: BroadcastChannelLike
  /** This tab's id. */
  tab: string
  ctx: CommandContext
  status: StatusStore
  /** What the store says each tab's last command was (meta `tabCalls`). */
  seen: JsonValue | undefined
  onError(error: unknown): void
}

/** Starts leading: announces this tab and serves the others until `close`. */
export function leadTabs(options: TabLeaderOptions): TabLeader {
  const { channel, tab, ctx } = options
  const seen = new Map<string, number>(
    Object.entries(typeof options.seen === 'object' && options.seen !== null && !Array.isArray(options.seen) ? options.seen : {}).filter(
      (e): e is [string, number] => typeof e[1] === 'number',
    ),
  )
  let closed = false
  const answering = new Set<Promise<void>>()

  const post = (message: TabMessage): void => {
    try {
      channel.postMessage(message)
    } catch (e) {
      options.onError(e)
    }
  }
  const announce = (): void => {
    post({ type: 'leader', tab, clientId: ctx.replica.clientId })
    post({ type: 'status', tab, status: options.status.get() })
  }

  function mark(txn: Txn, caller: string, seq: number): void {
    seen.delete(caller)
    seen.set(caller, seq)
    for (const oldest of seen.keys()) {
      if (seen.size <= MAX_TABS_REMEMBERED) break
      seen.delete(oldest)
    }
    txn.batch.setMeta(TAB_CALLS_KEY, Object.fromEntries(seen))
  }

  /** The answer to a write the store shows was run already. */
  function already(command: Command): unknown {
    if (command.op === 'create') return ctx.replica.live(command.model, String(command.data.id))
    if (command.op === 'update') return ctx.replica.live(command.model, command.id)
    return null
  }

  function run<C extends Command>(caller: string, seq: number, command: C): Promise<ResultOf<C>> {
    if (MARKED.has(command.op) && seq <= (seen.get(caller) ?? 0)) return Promise.resolve(already(command) as ResultOf<C>)
    const marker = MARKED.has(command.op) ? (txn: Txn) => mark(txn, caller, seq) : undefined
    // A write throws before it is applied (validation): as a rejection, like any other failure.
    return Promise.resolve().then(() => runCommand(ctx, command, marker))
  }

  const unsubscribe = options.status.subscribe(() => post({ type: 'status', tab, status: options.status.get() }))
  channel.addEventListener('message', (event) => {
    const message = tabMessageOf(event.data)
    if (closed || !message) return
    if (message.type === 'hello') announce()
    else if (message.type === 'call') {
      const { tab: caller, seq } = message
      const answered: Promise<void> = run(caller, seq, message.command)
        .then(
          (value) => post({ type: 'result', to: caller, seq, value }),
          (error: unknown) => post({ type: 'failure', to: caller, seq, error: errorShapeOf(error) }),
        )
        .finally(() => answering.delete(answered))
      answering.add(answered)
    }
  })
  announce()

  return {
    run,
    committed: (batch) => post({ type: 'committed', tab, batch }),
    event: (event, payload) => post({ type: 'event', tab, event, payload }),
    async close() {
      closed = true
      unsubscribe()
      await Promise.allSettled([...answering])
    },
  }
}
