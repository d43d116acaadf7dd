/**
 * The side of a tab that shares a store another tab owns: its commands go to the owner, each
 * with a sequence number, and wait for the answer; when the owner changes (it closed or crashed
 * and another took over) every command not answered yet is sent again to the new one, which
 * runs it only if the store does not show it was run. Batches the owner committed, its status
 * and its events come back to keep this tab's copy and status live.
 */
import { ERROR_CODES, type ErrorCode, PulseError } from '@pulse/core'
import type { Command, ResultOf } from '../commands.ts'
import type { ClientEvents } from '../events.ts'
import type { StoreBatch } from '../stores/local-store.ts'
import type { SyncStatus } from '../sync-status.ts'
import { type BroadcastChannelLike, type ErrorShape, type TabMessage, tabMessageOf } from './tab-channel.ts'

/** A command waiting for the owner's answer. */
export interface PendingCall {
  readonly seq: number
  readonly command: Command
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** What `followTabs` takes: where what the owner says goes. */
export interface TabFollowerOptions {
  channel: BroadcastChannelLike
  /** This tab's id. */
  tab: string
  /** An owner announced itself (called for each new owner). */
  leader(clientId: string): void
  committed(batch: StoreBatch): void
  status(status: SyncStatus): void
  event(event: keyof ClientEvents, payload: unknown): void
}

/** A follower tab. */
export interface TabFollower {
  /** Sends a command to the owner; resolves with its answer (however many owners it takes). */
  call<C extends Command>(command: C): Promise<ResultOf<C>>
  /** This tab owns the store now: stops following and hands back the commands not answered yet, oldest first. */
  takeOver(): PendingCall[]
  /** Stops following; pending commands reject with `error`. */
  close(error: Error): void
}

/** The error a shape from another tab stands for: a PulseError for Pulse's codes. */
export function errorFromShape(shape: ErrorShape): Error {
  if (shape.name === 'PulseError' && shape.code !== undefined && Object.hasOwn(ERROR_CODES, shape.code)) {
    return new PulseError(shape.code as ErrorCode, shape.message, Array.isArray(shape.details) ? shape.details : undefined)
  }
  const error = new Error(shape.message)
  error.name = shape.name
  return Object.assign(error, shape.code !== undefined ? { code: shape.code } : {})
}

/** Starts following: asks who owns the store, and listens. */
export function followTabs(options: TabFollowerOptions): TabFollower {
  const { channel, tab } = options
  const pending = new Map<number, PendingCall>()
  let nextSeq = 1
  let leader: string | undefined
  let following = true

  const send = (call: PendingCall): void => {
    if (leader === undefined) return
    channel.postMessage({ type: 'call', tab, seq: call.seq, command: call.command } satisfies TabMessage)
  }

  channel.addEventListener('message', (event) => {
    const message = tabMessageOf(event.data)
    if (!following || !message) return
    switch (message.type) {
      case 'leader':
        if (message.tab === leader) return
        leader = message.tab
        options.leader(message.clientId)
        // A new owner: what the last one did not answer goes to it (it runs what the store lacks).
        for (const call of pending.values()) send(call)
        return
      case 'result':
      case 'failure': {
        const call = message.to === tab ? pending.get(message.seq) : undefined
        if (!call) return
        pending.delete(message.seq)
        if (message.type === 'result') call.resolve(message.value)
        else call.reject(errorFromShape(message.error))
        return
      }
      case 'committed':
        options.committed(message.batch)
        return
      case 'status':
        if (message.tab === leader) options.status(message.status)
        return
      case 'event':
        if (message.tab === leader) options.event(message.event, message.payload)
        return
      default:
        return
    }
  })
  channel.postMessage({ type: 'hello', tab } satisfies TabMessage)

  return {
    call<C extends Command>(command: C): Promise<ResultOf<C>> {
      return new Promise<ResultOf<C>>((resolve, reject) => {
        const call: PendingCall = { seq: nextSeq++, command, resolve: resolve as (value: unknown) => void, reject }
        pending.set(call.seq, call)
        send(call)
      })
    },
    takeOver() {
      following = false
      const calls = [...pending.values()]
      pending.clear()
      return calls
    },
    close(error) {
      following = false
      for (const call of pending.values()) call.reject(error)
      pending.clear()
    },
  }
}
