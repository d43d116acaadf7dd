/**
 * Group commit of single writes (issue 12): concurrent REST writes share one transaction.
 *
 * Each request is checked on arrival, as it would be alone, and queued. Once per event-loop
 * turn (or as soon as the group before it committed) the queued requests, at most `maxBatch`,
 * run in one transaction, one after the other, each with its own actor, request id and clock
 * readings, and each read, decided and persisted on what the requests before it left, exactly
 * as if each had had its own transaction in that order: scope, If-Match, `id_taken`,
 * conflicts, history and the change order are the lone request's. A refused request writes
 * nothing and its refusal is its answer alone. Answers and listeners come after the commit.
 *
 * A failure of the transaction (the database, a bug: anything but a refusal) fails no one:
 * nothing of the group committed, so each of its requests is run again alone, in its own
 * transaction, and answered by that, as it would have been without grouping.
 *
 * Bounded: at most `maxQueued` requests wait; one more is refused `rate_limited` (retry after
 * 1 s), so a flood backs off instead of growing the queue.
 */
import { PulseError } from '@pulse/core'
import type { ChangeEntry, StorageTx } from '../storage/storage.ts'
import type { Context } from './context.ts'
import {
  applyPrepared,
  type PreparedBatch,
  prepareWrites,
  resultOf,
  usersOf,
  type WriteDeps,
  type WriteResult,
  writeBatch,
} from './write.ts'
import type { WriteOp } from './write-op.ts'

/** Requests one group commits at most. */
export const DEFAULT_GROUP_MAX_BATCH = 128
/** Requests waiting for a group at most; one more answers `rate_limited`. */
export const DEFAULT_GROUP_MAX_QUEUED = 4096

/** How writes are grouped. */
export interface WriteGroupOptions {
  /** Requests one transaction takes at most (default 128). */
  maxBatch?: number
  /** Requests waiting at most (default 4096); past it a write answers `rate_limited`. */
  maxQueued?: number
  /** Groups whose transactions run at once (default 1). */
  inFlight?: number
}

/** Writes grouped into shared transactions. */
export interface WriteGroup {
  /** Applies one atomic batch (no device) as `applyWrites(deps, ctx, ops, { atomic: true })` would. */
  write(ctx: Context, ops: readonly WriteOp[]): Promise<WriteResult>
  /** Requests waiting now (tests, metrics). */
  readonly queued: number
}

interface Pending {
  ctx: Context
  batch: PreparedBatch
  resolve(result: WriteResult): void
  reject(error: unknown): void
}

/** Creates a write group over the write path's dependencies. */
export function createWriteGroup(deps: WriteDeps, options: WriteGroupOptions = {}): WriteGroup {
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_GROUP_MAX_BATCH)
  const maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_GROUP_MAX_QUEUED)
  const maxInFlight = Math.max(1, options.inFlight ?? 1)
  const queue: Pending[] = []
  let running = 0
  let scheduled = false

  /** One request alone, as without grouping. */
  function alone(p: Pending): void {
    applyPrepared(deps, p.ctx, p.batch).then(p.resolve, p.reject)
  }

  async function runGroup(group: Pending[]): Promise<void> {
    let done: Awaited<ReturnType<typeof writeBatch>>[]
    try {
      done = await deps.storage.transaction(async (tx) => {
        // The change order is appended once, last, for the whole group (§2: one block of
        // positions per transaction, docs/change-order.md). Each request's persist hands its
        // entries to the group and gets their places in it; the places become positions below.
        const entries: ChangeEntry[] = []
        const grouped: StorageTx = Object.create(tx, {
          appendChanges: {
            value: async (more: readonly ChangeEntry[]) => more.map((entry) => entries.push(entry) - 1),
          },
        })
        // Every user of the group at once: their rows locked, memberships judged at commit (§8).
        const locked = deps.accounts ? await tx.lockUsers(usersOf(group.map((p) => p.ctx))) : undefined
        const out: Awaited<ReturnType<typeof writeBatch>>[] = []
        for (const p of group) out.push(await writeBatch(deps, grouped, p.ctx, p.batch, locked))
        const positions = await tx.appendChanges(entries)
        for (const d of out) {
          if ('refused' in d) continue
          for (const c of d.committed) c.seq = positions[c.seq] ?? 0
        }
        return out
      })
    } catch {
      // Nothing of the group committed: each request again, alone, answered by its own run.
      for (const p of group) alone(p)
      return
    }
    for (const [i, p] of group.entries()) {
      const d = done[i]
      if (!d) p.reject(new Error('write group: a request without an answer'))
      else if ('refused' in d) p.reject(d.refused)
      else {
        if (d.committed.length > 0) {
          try {
            deps.onCommit(d.committed)
          } catch {
            // deps.onCommit reports its listeners' failures itself; the write committed.
          }
        }
        p.resolve(resultOf(d))
      }
    }
  }

  function flush(): void {
    scheduled = false
    while (running < maxInFlight && queue.length > 0) {
      const group: Pending[] = []
      while (group.length < maxBatch && queue.length > 0) {
        const p = queue.shift() as Pending
        // A request given up before its group started runs alone, and fails as it would have.
        if (p.ctx.signal?.aborted) alone(p)
        else group.push(p)
      }
      if (group.length === 0) continue
      running += 1
      void runGroup(group).finally(() => {
        running -= 1
        if (queue.length > 0) schedule()
      })
    }
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    // After this turn's I/O: every request whose body arrived in it joins the group.
    setImmediate(flush)
  }

  return {
    write(ctx, ops) {
      const batch = prepareWrites(deps, ops, { atomic: true })
      if ('outcomes' in batch) return Promise.resolve(batch)
      if (queue.length >= maxQueued) {
        const full = new PulseError('rate_limited', `the server has ${maxQueued} writes waiting: retry in 1 s`)
        return Promise.reject(Object.assign(full, { retryAfterSeconds: 1 }))
      }
      return new Promise<WriteResult>((resolve, reject) => {
        queue.push({ ctx, batch, resolve, reject })
        if (running < maxInFlight) schedule()
      })
    },
    get queued() {
      return queue.length
    },
  }
}
