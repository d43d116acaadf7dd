/**
 * StorageTx on one PostgreSQL client inside BEGIN … COMMIT (READ COMMITTED). Records read are
 * locked with FOR UPDATE; each batch write is one statement per table.
 */
import type { Conflict, ModelDefinition } from '@pulse/core'
import { decodeConflict, encodeConflict } from '../conflict-rows.ts'
import { decodeHistory, encodeChange, encodeHistory } from '../log-rows.ts'
import { decodeRecord, encodeRecord } from '../record-row.ts'
import type { ChangeEntry, HistoryEntry, StorageTx, StoredRecord } from '../storage.ts'
import { postgresDialect } from './postgres-dialect.ts'
import type { PgClient } from './postgres-pool.ts'
import { modelStatements, SQL } from './postgres-statements.ts'

const codec = postgresDialect.codec

/** Rows (arrays of parameters) as one array per column, for `unnest`. */
export function toColumns(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => new Array<unknown>(rows.length))
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) (columns[c] as unknown[])[r] = row[c]
  })
  return columns
}

/** Decodes record rows into a map by id. */
export function recordsById(model: ModelDefinition, rows: readonly Record<string, unknown>[]): Map<string, StoredRecord> {
  const found = new Map<string, StoredRecord>()
  for (const row of rows) {
    const record = decodeRecord(codec, model, row)
    found.set(record.id, record)
  }
  return found
}

// The last entry of each key wins: a multi-row statement may touch a row only once.
function lastPerKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>()
  for (const item of items) {
    const k = key(item)
    byKey.delete(k)
    byKey.set(k, item)
  }
  return [...byKey.values()]
}

/** A StorageTx over `client`; `changesLockKey` serialises change-position allocation. */
export function createPostgresTx(client: PgClient, changesLockKey: readonly [number, number], isOpen: () => boolean): StorageTx {
  const q = async (text: string, values?: readonly unknown[]): Promise<Record<string, unknown>[]> => {
    if (!isOpen()) throw new Error('this transaction has ended')
    return (await client.query(text, values)).rows
  }
  const width = (model: ModelDefinition): number => 7 + model.specs.size
  return {
    async getRecords(model, ids) {
      if (ids.length === 0) return new Map()
      return recordsById(model, await q(modelStatements(model).selectByIdsForUpdate, [[...ids]]))
    },

    async insertRecords(model, records) {
      if (records.length === 0) return
      const rows = records.map((r) => encodeRecord(codec, model, r))
      await q(modelStatements(model).insert, toColumns(rows, width(model)))
    },

    async updateRecords(model, records) {
      const unique = lastPerKey(records, (r) => r.id)
      if (unique.length === 0) return
      const rows = unique.map((r) => encodeRecord(codec, model, r))
      if (!isOpen()) throw new Error('this transaction has ended')
      const result = await client.query(modelStatements(model).update, toColumns(rows, width(model)))
      if (result.rowCount !== unique.length)
        throw new Error(`updateRecords: ${unique.length - (result.rowCount ?? 0)} ${model.name} record(s) do not exist`)
    },

    async appendHistory(entries: readonly HistoryEntry[]) {
      if (entries.length === 0) return
      await q(SQL.insertHistory, toColumns(entries.map(encodeHistory), 9))
    },

    async appendChanges(entries: readonly ChangeEntry[]): Promise<number[]> {
      if (entries.length === 0) return []
      // §2, no gaps: PostgreSQL transactions commit in any order, so a sequence alone would let
      // a reader see position 8 committed while 7 is still in flight, move its cursor past 7
      // and never see it. Instead positions are allocated under a transaction-level advisory
      // lock, held until COMMIT or ROLLBACK. A transaction gets its positions only after the
      // previous holder has committed (and become visible) or rolled back, so every
      // position is visible before any larger one; rolled-back positions are merely unused.
      // appendChanges is the last write of a transaction, so the lock is held only briefly.
      await q(SQL.advisoryLock, changesLockKey)
      const allocated = (await q(SQL.allocateSeqs, [entries.length])).map((r) => Number(r.seq)).sort((a, b) => a - b)
      const positioned = entries.map((entry, i) => ({ entry, seq: allocated[i] as number }))
      // A record named twice keeps its last entry; the earlier position stays unused.
      const rows = lastPerKey(positioned, (p) => `${p.entry.model}\u0000${p.entry.recordId}\u0000${p.entry.removed === true}`).map((p) => [
        p.seq,
        ...encodeChange(p.entry, false),
      ])
      await q(SQL.upsertChanges, toColumns(rows, 8))
      return positioned.map((p) => p.seq)
    },

    async claimClient(clientId, owner) {
      // The upsert takes the row's lock even when it changes nothing: a second push of this
      // client waits here until the first commits, then reads its lastMid.
      const [row] = await q(SQL.claimClient, [clientId, owner])
      return { lastMid: Number(row?.last_mid ?? 0), owner: row?.owner === null || row?.owner === undefined ? null : String(row.owner) }
    },

    async setClientMid(clientId, mid) {
      await q(SQL.setClientMid, [clientId, mid])
    },

    async listHistory(model, recordId, sinceVersion) {
      return (await q(SQL.selectHistory, [model.name, recordId, sinceVersion])).map((row) => decodeHistory(codec, row))
    },

    async insertConflicts(conflicts: readonly Conflict[]) {
      for (const conflict of conflicts) await q(SQL.insertConflict, encodeConflict(conflict))
    },

    async getConflict(id) {
      const rows = await q(SQL.selectConflictForUpdate, [id])
      return rows[0] ? decodeConflict(codec, rows[0]) : undefined
    },

    async updateConflict(conflict) {
      if (!isOpen()) throw new Error('this transaction has ended')
      const result = await client.query(SQL.updateConflict, encodeConflict(conflict))
      if (result.rowCount !== 1) throw new Error(`updateConflict: no conflict with id ${conflict.id}`)
    },
  }
}
