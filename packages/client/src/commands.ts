/**
 * Everything that changes a client's store, as data: local writes, a sync, retrying or
 * discarding refused mutations, settling a conflict. The tab that owns the store runs them
 * (`runCommand`); another tab of the same store sends them to it (tabs/follower.ts). As data
 * they cross tabs as they are, and `mark` lets the owner record, in the same store batch as a
 * write, that it ran it (so a command sent again after a hand-over does not run twice).
 */
import type { Conflict, ModelDefinition } from '@pulse/core'
import type { LocalRecord } from './local-record.ts'
import { createLocal, deleteLocal, type LocalWrite, updateLocal, type WriteMark } from './local-writes.ts'
import type { AbortSignalLike } from './platform.ts'
import { discardRefused, refusedEntries, retryRefused } from './rejections.ts'
import type { Replica, Txn } from './replica.ts'
import { settle } from './server-apply.ts'
import type { SyncLoop } from './sync-loop.ts'
import type { HttpApi } from './transports/http-api.ts'

/** Which refused mutations: `rejected` ones, `failed` ones, or both. */
export type RefusedKind = 'rejected' | 'failed'

/** A change to the store. Creates carry their id, so that running one twice is seen as such. */
export type Command =
  | { readonly op: 'create'; readonly model: string; readonly data: Readonly<Record<string, unknown>> }
  | { readonly op: 'update'; readonly model: string; readonly id: string; readonly patch: Readonly<Record<string, unknown>> }
  | { readonly op: 'delete'; readonly model: string; readonly id: string }
  | { readonly op: 'sync' }
  | { readonly op: 'retry'; readonly mids?: readonly number[]; readonly kinds: readonly RefusedKind[] }
  | { readonly op: 'discard'; readonly mids?: readonly number[] }
  | {
      readonly op: 'resolveConflict'
      readonly id: string
      readonly choice: 'local' | 'remote' | 'custom'
      readonly data?: Readonly<Record<string, unknown>>
    }

/** What each command resolves with. */
export interface CommandResults {
  create: LocalRecord | undefined
  update: LocalRecord | undefined
  delete: null
  sync: null
  retry: number
  discard: number
  resolveConflict: { conflict: Conflict; model: string; id: string }
}

/** The result of a command. */
export type ResultOf<C extends Command> = CommandResults[C['op']]

/** What running a command needs: the owned replica, its loop, the server. */
export interface CommandContext {
  readonly replica: Replica
  readonly loop: SyncLoop
  readonly http: HttpApi
}

/** Writes `mark`'s changes with the command's own store batch. */
export type Mark = WriteMark

function definitionOf(replica: Replica, model: string): ModelDefinition {
  return replica.model(model)
}

async function written(ctx: CommandContext, write: LocalWrite): Promise<LocalRecord | undefined> {
  ctx.loop.localWrite()
  await write.persisted
  return write.record
}

/** Runs `fn` in a change of its own (with `mark`'s writes), stored before it resolves. */
async function inTxn<T>(replica: Replica, mark: Mark | undefined, fn: (txn: Txn) => T): Promise<T> {
  const txn = replica.begin()
  const value = fn(txn)
  mark?.(txn)
  await replica.end(txn)
  return value
}

/**
 * Runs a command on the replica this tab owns. A local write is applied at once (before this
 * returns its promise) and resolves once stored; it throws `validation_failed`, `not_found`…
 */
export function runCommand<C extends Command>(
  ctx: CommandContext,
  command: C,
  mark?: Mark,
  signal?: AbortSignalLike,
): Promise<ResultOf<C>> {
  return run(ctx, command, mark, signal) as Promise<ResultOf<C>>
}

function run(ctx: CommandContext, command: Command, mark: Mark | undefined, signal: AbortSignalLike | undefined): Promise<unknown> {
  const { replica, loop } = ctx
  switch (command.op) {
    case 'create':
      return written(ctx, createLocal(replica, definitionOf(replica, command.model), command.data, mark))
    case 'update':
      return written(ctx, updateLocal(replica, definitionOf(replica, command.model), command.id, command.patch, mark))
    case 'delete':
      return written(ctx, deleteLocal(replica, definitionOf(replica, command.model), command.id, mark)).then(() => null)
    case 'sync':
      return loop.sync(signal).then(() => null)
    case 'retry':
      return inTxn(replica, mark, (txn) => retryRefused(replica, txn, refusedEntries(replica, command.mids, command.kinds))).then((n) => {
        if (n > 0) loop.pushSoon()
        return n
      })
    case 'discard':
      return inTxn(replica, mark, (txn) => discardRefused(replica, txn, refusedEntries(replica, command.mids, ['rejected', 'failed'])))
    case 'resolveConflict':
      return resolveConflict(ctx, command, mark, signal)
  }
}

async function resolveConflict(
  ctx: CommandContext,
  command: Extract<Command, { op: 'resolveConflict' }>,
  mark: Mark | undefined,
  signal: AbortSignalLike | undefined,
): Promise<CommandResults['resolveConflict']> {
  const { replica } = ctx
  const answer = await ctx.http.resolveConflict(
    command.id,
    { choice: command.choice, ...(command.data ? { data: { ...command.data } } : {}) },
    signal,
  )
  const { model } = answer.conflict
  const id = answer.record.id
  await inTxn(replica, mark, (txn) => {
    if (replica.schema.models.has(model)) settle(replica, txn, model, id, answer.record)
  })
  return { conflict: answer.conflict, model, id }
}
