/**
 * Taking in what the server says: pulled and live changes (§3, §6), push answers (§4) and full
 * resyncs (§2). A record's row keeps the newest server state (by version, which only grows)
 * and shows it with the record's pending mutations on top, so a change from elsewhere never
 * hides a local edit still queued, and the answer to an older mutation never overwrites a
 * newer local edit: the newer one stays pending, rebased on the answer.
 */
import { type Change, type Conflict, compareClocks, type PullResponse, type PushResponse, type WireRecord } from '@pulse/core'
import { composeRecord } from './compose.ts'
import type { SyncErrorInfo } from './local-record.ts'
import { META, type Replica, type Txn } from './replica.ts'
import type { StoredRow } from './stores/local-store.ts'

/** What a push answer tells the app about, besides the records themselves. */
export interface PushEvents {
  conflict(event: { model: string; record: WireRecord | undefined; conflict: Conflict }): void
  rejected(event: { model: string; id: string; op: string; error: SyncErrorInfo }): void
}

const seenKey = (model: string, id: string): string => `${model}\u0000${id}`

/**
 * Recomputes a row from `incoming` (a server state, if newer than the one kept) and the
 * record's pending mutations. `syncError` replaces the record's when given.
 */
export function settle(
  replica: Replica,
  txn: Txn,
  model: string,
  id: string,
  incoming: WireRecord | undefined,
  syncError?: SyncErrorInfo | null,
): void {
  const row = replica.row(model, id)
  const kept = replica.serverOf(row)
  // An older or equal state (a page that overlapped a push answer or a live message) is no news.
  if (incoming && kept && incoming.version <= kept.version && syncError === undefined) return
  const server = incoming && (!kept || incoming.version > kept.version) ? incoming : kept
  const pending = replica.outbox.forRecord(model, id)
  if (!row && pending.length === 0 && server?.deletedAt) return // a tombstone of a record never seen: nothing to keep
  const error = syncError === undefined ? (row?.record.syncError ?? null) : syncError
  // No server state and nothing pending: a create the server refused; it stays as it is, flagged.
  const base = server ?? (pending.some((e) => e.mutation.op === 'create') ? undefined : row?.record)
  const record = composeRecord(base, pending, error)
  if (!record) return
  const next: StoredRow = server && pending.length > 0 ? { model, record, server } : { model, record }
  replica.put(txn, model, id, next)
}

/** Applies one page of changes (pull answer or socket message) and moves the cursor with it. */
export function applyPage(replica: Replica, page: PullResponse): Promise<void> {
  const txn = replica.begin()
  let latest = ''
  for (const change of page.changes) {
    applyChange(replica, txn, change)
    const updatedAt = (change.record as { updatedAt?: unknown }).updatedAt
    if (typeof updatedAt === 'string' && updatedAt > latest) latest = updatedAt
  }
  if (latest) receiveTime(replica, txn, latest)
  replica.setCursor(txn, page.cursor)
  return replica.end(txn)
}

function receiveTime(replica: Replica, txn: Txn, at: string): void {
  try {
    txn.batch.setMeta(META.hlc, replica.hlc.receive(at))
  } catch {
    // Not a timestamp: the clock simply does not learn from it.
  }
}

function applyChange(replica: Replica, txn: Txn, change: Change): void {
  if (!replica.schema.models.has(change.model)) return
  const id = change.record.id
  if (change.removed) {
    // §8: the record left this client's scope. Pending edits stay queued; the server decides.
    replica.put(txn, change.model, id, null)
    replica.unverified.delete(seenKey(change.model, id))
    return
  }
  replica.resyncSeen?.add(seenKey(change.model, id))
  // The server sent it to this caller: in scope (a removal above drops it).
  replica.unverified.delete(seenKey(change.model, id))
  settle(replica, txn, change.model, id, change.record)
}

/** Takes in the device's `lastMid` before the store's first push (`Outbox.adoptLastMid`). */
export function adoptLastMid(replica: Replica, lastMid: number): Promise<void> {
  const txn = replica.begin()
  replica.outbox.adoptLastMid(lastMid, txn.batch)
  return replica.end(txn)
}

/** Takes in a push answer: each result settles its mutation; `lastMid` keeps future `mid`s above it. */
export function applyPushResponse(replica: Replica, response: PushResponse, events: PushEvents): Promise<void> {
  const txn = replica.begin()
  const { outbox } = replica
  outbox.raiseNextMid(response.lastMid, txn.batch)
  for (const result of response.results) {
    const entry = outbox.get(result.mid)
    if (!entry) {
      // Already settled (an answer that arrived twice): its record may still be news.
      if (result.record) settleIfKnown(replica, txn, result.record)
      continue
    }
    const { model, id, op } = entry.mutation
    const othersAnswer = result.status === 'duplicate' || result.replayed === true
    if (othersAnswer && entry.attempts <= 1) {
      // Never sent before, yet the server has this mid (answered again: a duplicate, or the
      // refusal or conflict of the mutation first sent with it): an earlier run of this device used it.
      outbox.renumber(entry, txn.batch)
      continue
    }
    if (result.status === 'rejected') {
      // Kept, REJECTED, for the app to see, retry or discard; the record falls back to what the server has.
      const error: SyncErrorInfo = result.error ?? { code: 'rejected', message: 'the server refused the change' }
      outbox.put({ ...entry, status: 'REJECTED', lastError: error }, txn.batch)
      const row = replica.row(model, id)
      if (error.code === 'not_found' && op !== 'create' && replica.serverOf(row) && outbox.forRecord(model, id).length === 0) {
        // §8: the server has no such record for this caller (out of its scope now, or purged): a
        // record kept only for this edit (a resync's snapshot lacked it) goes; the refusal stays listed.
        replica.put(txn, model, id, null)
      } else settle(replica, txn, model, id, undefined, error)
      events.rejected({ model, id, op, error })
      continue
    }
    outbox.remove(result.mid, txn.batch)
    const record = result.record
    if (record) {
      // An answer says what the push did, not whether the caller may still see the record: one
      // that lands while a resync runs is kept by it, and checked by the next (`finishResync`).
      if (replica.resyncSeen && !replica.resyncSeen.has(seenKey(model, id))) replica.unverified.add(seenKey(model, id))
      rebase(replica, txn, model, id, record)
    }
    if (result.status === 'duplicate' && !record && outbox.forRecord(model, id).length === 0) {
      // Applied before, and the server does not show it to this caller now (out of its scope,
      // or purged): a local copy would never hear of it again.
      replica.put(txn, model, id, null)
      replica.unverified.delete(seenKey(model, id))
      continue
    }
    settle(replica, txn, model, id, record, null)
    if (result.status === 'conflict' && result.conflict) events.conflict({ model, record, conflict: result.conflict })
  }
  wantResyncForSettled(replica)
  return replica.end(txn)
}

/** An unverified record (`Replica.unverified`) with nothing pending any more: resync to learn whether it is still in scope. */
function wantResyncForSettled(replica: Replica): void {
  if (replica.resyncSeen) return // a resync runs: its end decides (`finishResync`)
  for (const key of replica.unverified) {
    const [model, id] = key.split('\u0000') as [string, string]
    if (replica.outbox.forRecord(model, id).length > 0) continue
    replica.unverified.delete(key)
    if (replica.row(model, id)) replica.resyncWanted = true
  }
}

function settleIfKnown(replica: Replica, txn: Txn, record: WireRecord): void {
  for (const model of replica.schema.models.keys()) {
    if (replica.row(model, record.id)) settle(replica, txn, model, record.id, record)
  }
}

/**
 * The record's later mutations that already include everything the server's answer holds
 * (their clock is at or after its clock) now start from its version: they were made on top of
 * it, so only changes made on the server after it may contest their fields (§5).
 */
function rebase(replica: Replica, txn: Txn, model: string, id: string, record: WireRecord): void {
  for (const entry of replica.outbox.forRecord(model, id)) {
    const m = entry.mutation
    if (m.op === 'create' || (m.baseVersion ?? 0) >= record.version) continue
    const order = compareClocks(record.vclock, m.vclock)
    if (order !== 'BEFORE' && order !== 'EQUAL') continue
    replica.outbox.put({ ...entry, mutation: { ...m, baseVersion: record.version } }, txn.batch)
  }
}

/** Starts a full resync (§2 `cursor_expired`, §8 `scope_changed`): from no cursor, noting what the snapshot holds. */
export function startResync(replica: Replica): Promise<void> {
  const txn = replica.begin()
  replica.unverified.clear()
  replica.resyncSeen = undefined
  replica.setCursor(txn, null)
  replica.resyncSeen = new Set()
  txn.batch.setMeta(META.resync, true)
  return replica.end(txn)
}

/**
 * Starts the resync a record of unknown scope asks for (`Replica.resyncWanted`); false when
 * none is wanted. The caller pulls to the end.
 */
export async function startWantedResync(replica: Replica): Promise<boolean> {
  if (!replica.resyncWanted) return false
  replica.resyncWanted = false
  await startResync(replica)
  return true
}

/**
 * Ends a full resync once its last page is in: drops the records the snapshot lacked, unless
 * edits of them are pending or the server never had them, and persists the cursor.
 */
export function finishResync(replica: Replica): Promise<void> {
  const seen = replica.resyncSeen
  if (!seen) return Promise.resolve()
  const txn = replica.begin()
  const answered = new Set(replica.unverified)
  replica.unverified.clear()
  for (const model of replica.schema.models.keys()) {
    for (const row of [...replica.rowsOf(model)]) {
      const id = row.record.id
      const key = seenKey(model, id)
      if (seen.has(key)) continue
      if (replica.outbox.lastFor(model, id)) {
        // Kept for its pending edits; whether it is still in scope is learnt once they are answered.
        replica.unverified.add(key)
        continue
      }
      if (answered.has(key)) {
        // A push answer during the resync: kept, and checked by another resync (`resyncWanted`).
        replica.resyncWanted = true
        continue
      }
      if (row.record.version === 0) continue // a local create the server never had
      replica.put(txn, model, id, null)
    }
  }
  replica.resyncSeen = undefined
  replica.setCursor(txn, replica.cursor)
  txn.batch.setMeta(META.resync, null)
  return replica.end(txn)
}
