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

import type { ModelDefinition } from '@pulse/core'
import { PulseError } from '@pulse/core'
import type { ChangeEntry, HistoryEntry, StorageTx, StoredRecord } from '../storage/storage.ts'
import { idsByModel } from './batch.ts'
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
import type { PreparedOp, WriteOp } from './write-op.ts'

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

const keyOf = (model: ModelDefinition, id: string): string => `${model.name}\u0000${id}`

/** A group's transaction: its requests' reads and writes, gathered into a few statements. */
interface GroupTx extends StorageTx {
  /** Reads and locks the records these ops name, one read per model. */
  prefetch(ops: readonly PreparedOp[]): Promise<void>
  /** Writes what the requests left (records, history), then the change order; returns its positions by place. */
  flush(): Promise<number[]>
}

/**
 * The group's requests write through this, each as if alone: a record read once stays read
 * (as the requests before have left it), and records, history and change-order entries are
 * held and written at the end in one statement each per model — a record changed by several
 * requests once, in its final state, inserted if the group created it. The change order is
 * appended once, last (§2: one block of positions per transaction, docs/change-order.md): each
 * request's `appendChanges` gets the places of its entries, which `flush` turns into positions.
 */
function createGroupTx(tx: StorageTx): GroupTx {
  /** Each record read or written: its state as the group has left it (undefined: none). */
  const states = new Map<string, StoredRecord | undefined>()
  /** The records to write, in the order first written: inserted when none was stored. */
  const writes = new Map<string, { model: ModelDefinition; record: StoredRecord; insert: boolean }>()
  const history: HistoryEntry[] = []
  const entries: ChangeEntry[] = []

  async function read(model: ModelDefinition, ids: readonly string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !states.has(keyOf(model, id)))
    if (missing.length === 0) return
    const found = await tx.getRecords(model, missing)
    for (const id of missing) states.set(keyOf(model, id), found.get(id))
  }

  function write(model: ModelDefinition, records: readonly StoredRecord[], insert: boolean): void {
    for (const record of records) {
      const key = keyOf(model, record.id)
      states.set(key, record)
      writes.set(key, { model, record, insert: writes.get(key)?.insert ?? insert })
    }
  }

  const grouped: GroupTx = Object.create(tx, {
    prefetch: {
      value: async (ops: readonly PreparedOp[]) => {
        for (const [model, ids] of idsByModel(ops)) await read(model, [...ids])
      },
    },
    getRecords: {
      value: async (model: ModelDefinition, ids: readonly string[]) => {
        await read(model, ids)
        const out = new Map<string, StoredRecord>()
        for (const id of ids) {
          const record = states.get(keyOf(model, id))
          if (record) out.set(id, record)
        }
        return out
      },
    },
    insertRecords: { value: async (model: ModelDefinition, records: readonly StoredRecord[]) => write(model, records, true) },
    updateRecords: { value: async (model: ModelDefinition, records: readonly StoredRecord[]) => write(model, records, false) },
    appendHistory: {
      value: async (more: readonly HistoryEntry[]) => {
        history.push(...more)
      },
    },
    listHistory: {
      value: async (model: ModelDefinition, recordId: string, sinceVersion: number) => [
        ...(await tx.listHistory(model, recordId, sinceVersion)),
        ...history.filter((h) => h.model === model.name && h.recordId === recordId && h.version > sinceVersion),
      ],
    },
    appendChanges: {
      value: async (more: readonly ChangeEntry[]) => more.map((entry) => entries.push(entry) - 1),
    },
    flush: {
      value: async () => {
        const byModel = new Map<ModelDefinition, { inserts: StoredRecord[]; updates: StoredRecord[] }>()
        for (const { model, record, insert } of writes.values()) {
          let lists = byModel.get(model)
          if (!lists) {
            lists = { inserts: [], updates: [] }
            byModel.set(model, lists)
          }
          ;(insert ? lists.inserts : lists.updates).push(record)
        }
        for (const [model, { inserts, updates }] of byModel) {
          if (inserts.length > 0) await tx.insertRecords(model, inserts)
          if (updates.length > 0) await tx.updateRecords(model, updates)
        }
        if (history.length > 0) await tx.appendHistory(history)
        return tx.appendChanges(entries)
      },
    },
  })
  return grouped
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
        const grouped = createGroupTx(tx)
        // Every user of the group at once: their rows locked, memberships judged at commit (§8).
        const locked = deps.accounts ? await tx.lockUsers(usersOf(group.map((p) => p.ctx))) : undefined
        // Every record the group names, read and locked at once (one read per model, in id order).
        await grouped.prefetch(group.flatMap((p) => p.batch.checked.flatMap((c) => (c.ok ? [c.op] : []))))
        const out: Awaited<ReturnType<typeof writeBatch>>[] = []
        for (const p of group) out.push(await writeBatch(deps, grouped, p.ctx, p.batch, locked))
        const positions = await grouped.flush()
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
