/**
 * StorageTx on SQLite's writer connection, inside BEGIN IMMEDIATE (which already holds the
 * database's write lock, so the records read are locked against other writers).
 */
import type { Conflict, ModelDefinition } from '@pulse/core'
import { decodeConflict, encodeConflict } from '../conflict-rows.ts'
import { decodeHistory, encodeHistory } from '../log-rows.ts'
import { decodeRecord, encodeRecord } from '../record-row.ts'
import type { ChangeEntry, ClientRow, HistoryEntry, StorageTx, StoredRecord } from '../storage.ts'
import type { SqliteConnection } from './sqlite-connection.ts'
import { sqliteDialect } from './sqlite-dialect.ts'
import { modelStatements, SQL } from './sqlite-statements.ts'

const codec = sqliteDialect.codec

/** The records with these ids on `conn` (one statement whatever the number of ids). */
export function readRecords(conn: SqliteConnection, model: ModelDefinition, ids: readonly string[]): Map<string, StoredRecord> {
  const found = new Map<string, StoredRecord>()
  if (ids.length === 0) return found
  const rows = conn.statement(modelStatements(model).selectByIds).all(JSON.stringify(ids)) as Record<string, unknown>[]
  for (const row of rows) {
    const record = decodeRecord(codec, model, row)
    found.set(record.id, record)
  }
  return found
}

/** A StorageTx over `conn`; every call throws once `isOpen()` turns false. */
export function createSqliteTx(conn: SqliteConnection, isOpen: () => boolean): StorageTx {
  const check = (): void => {
    if (!isOpen()) throw new Error('this transaction has ended')
  }
  return {
    async getRecords(model: ModelDefinition, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
      check()
      return readRecords(conn, model, ids)
    },

    async insertRecords(model: ModelDefinition, records: readonly StoredRecord[]): Promise<void> {
      check()
      const stmt = conn.statement(modelStatements(model).insert)
      for (const record of records) stmt.run(...encodeRecord(codec, model, record))
    },

    async updateRecords(model: ModelDefinition, records: readonly StoredRecord[]): Promise<void> {
      check()
      const stmt = conn.statement(modelStatements(model).update)
      for (const record of records) {
        const params = encodeRecord(codec, model, record)
        params.push(params.shift()) // the id goes last, after the SET values
        if (stmt.run(params).changes !== 1) throw new Error(`updateRecords: no ${model.name} with id ${record.id}`)
      }
    },

    async appendHistory(entries: readonly HistoryEntry[]): Promise<void> {
      check()
      const stmt = conn.statement(SQL.insertHistory)
      for (const entry of entries) stmt.run(...encodeHistory(entry))
    },

    async appendChanges(entries: readonly ChangeEntry[]): Promise<number[]> {
      check()
      // Transactions are serialised on the one writer, so positions commit in allocation order.
      const replace = conn.statement(SQL.replaceChange)
      const seqs: number[] = []
      for (const e of entries)
        seqs.push(
          Number(replace.run(e.model, e.recordId, e.version, e.ownerId, e.orgId, e.deleted ? 1 : 0, e.removed ? 1 : 0).lastInsertRowid),
        )
      return seqs
    },

    async claimClient(clientId: string, owner: string | null): Promise<ClientRow> {
      check()
      // One writer: the transaction already excludes every other, so the upsert needs no lock.
      const row = conn.statement(SQL.claimClient).get(clientId, owner, new Date().toISOString()) as {
        last_mid: number
        owner: string | null
      }
      return { lastMid: Number(row.last_mid), owner: row.owner ?? null }
    },

    async setClientMid(clientId: string, mid: number): Promise<void> {
      check()
      conn.statement(SQL.setClientMid).run(clientId, mid, new Date().toISOString())
    },

    async listHistory(model: ModelDefinition, recordId: string, sinceVersion: number): Promise<HistoryEntry[]> {
      check()
      const rows = conn.statement(SQL.selectHistory).all(model.name, recordId, sinceVersion) as Record<string, unknown>[]
      return rows.map((row) => decodeHistory(codec, row))
    },

    async insertConflicts(conflicts: readonly Conflict[]): Promise<void> {
      check()
      const stmt = conn.statement(SQL.insertConflict)
      for (const conflict of conflicts) stmt.run(encodeConflict(conflict))
    },

    async getConflict(id: string): Promise<Conflict | undefined> {
      check()
      const row = conn.statement(SQL.selectConflict).get(id) as Record<string, unknown> | undefined
      return row ? decodeConflict(codec, row) : undefined
    },

    async updateConflict(conflict: Conflict): Promise<void> {
      check()
      const params = encodeConflict(conflict)
      params.push(params.shift()) // the id goes last, after the SET values
      if (conn.statement(SQL.updateConflict).run(params).changes !== 1)
        throw new Error(`updateConflict: no conflict with id ${conflict.id}`)
    },
  }
}
