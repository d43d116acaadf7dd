/**
 * StorageTx on a SQL session inside its write transaction, the same on every dialect: typed
 * queries for reads, clients and conflicts; the dialect's hot statements for batch writes.
 */
import { insertConflicts, selectConflict, updateConflict } from './conflict-rows.ts'
import type { SqlSession } from './dialect.ts'
import { encodeHistory, selectHistory } from './log-rows.ts'
import { prepared } from './prepared.ts'
import { encodeRecord, selectRecords } from './record-row.ts'
import type { LockedUser, StorageTx, StoredRecord } from './storage.ts'

/**
 * The columns of the accounts tables (accounts/account-tables.ts) a write transaction reads to
 * judge scope as it commits (`lockUsers`, `userOrgIds`).
 */
type AccountRows = {
  pulse_users: { id: string; scope_epoch: number; is_admin: number | boolean }
  pulse_members: { org_id: string; user_id: string }
  pulse_orgs: { id: string; name: string }
}

/** The last record of each id: a batch statement may touch a row only once. */
function lastPerId(records: readonly StoredRecord[]): StoredRecord[] {
  const byId = new Map<string, StoredRecord>()
  for (const record of records) {
    byId.delete(record.id)
    byId.set(record.id, record)
  }
  return [...byId.values()]
}

/** `tx` with every method refusing once `isOpen()` turns false: a tx kept too long must not write into a later transaction. */
function closing<T extends object>(tx: T, isOpen: () => boolean): T {
  return new Proxy(tx, {
    get(target, key) {
      const method: unknown = Reflect.get(target, key)
      if (typeof method !== 'function') return method
      return (...args: unknown[]) => (isOpen() ? method.apply(target, args) : Promise.reject(new Error('this transaction has ended')))
    },
  })
}

const claimClient = prepared((s, p: { clientId: string; owner: string | null; at: string }) =>
  s.db
    .insertInto('pulse_clients')
    .values({ client_id: p.clientId, last_mid: 0, owner: p.owner, updated_at: p.at })
    .onConflict((oc) => oc.column('client_id').doUpdateSet((eb) => ({ owner: eb.fn.coalesce('pulse_clients.owner', 'excluded.owner') })))
    .returning(['last_mid as lastMid', 'owner']),
)

const setClientMid = prepared((s, p: { clientId: string; mid: number; at: string }) =>
  s.db
    .insertInto('pulse_clients')
    .values({ client_id: p.clientId, last_mid: p.mid, updated_at: p.at })
    .onConflict((oc) =>
      oc.column('client_id').doUpdateSet((eb) => ({ last_mid: eb.ref('excluded.last_mid'), updated_at: eb.ref('excluded.updated_at') })),
    ),
)

/** A StorageTx over `s`; every call throws once `isOpen()` turns false. */
export function createSqlTx(s: SqlSession, isOpen: () => boolean): StorageTx {
  const { db, hot } = s
  const now = () => new Date().toISOString()
  return closing<StorageTx>(
    {
      getRecords: (model, ids) => selectRecords(s, model, ids, true),

      async insertRecords(model, records) {
        if (records.length > 0)
          await hot.insertRecords(
            model,
            records.map((r) => encodeRecord(model, r)),
          )
      },

      async updateRecords(model, records) {
        const unique = lastPerId(records)
        if (unique.length === 0) return
        const matched = await hot.updateRecords(
          model,
          unique.map((r) => encodeRecord(model, r)),
        )
        if (matched !== unique.length) throw new Error(`updateRecords: ${unique.length - matched} ${model.name} record(s) do not exist`)
      },

      async appendHistory(entries) {
        if (entries.length > 0) await hot.appendHistory(entries.map(encodeHistory))
      },

      appendChanges: async (entries) => (entries.length === 0 ? [] : hot.appendChanges(entries)),

      // The upsert locks the client's row until the transaction ends, even when it changes
      // nothing (PostgreSQL; SQLite's write transaction excludes every other already): a second
      // push of this client waits here until the first commits, then reads its lastMid.
      async claimClient(clientId, owner) {
        const [row] = await claimClient(s, { clientId, owner, at: now() })
        if (!row) throw new Error('claimClient: the upsert returned no row')
        return row
      },

      async setClientMid(clientId, mid) {
        await setClientMid(s, { clientId, mid, at: now() })
      },

      async listRefusals(clientId, mids) {
        if (mids.length === 0) return []
        return db
          .selectFrom('pulse_refusals')
          .select(['mid', 'code', 'message', 'field'])
          .where('client_id', '=', clientId)
          .where('mid', 'in', [...mids])
          .execute()
      },

      async recordRefusals(clientId, refusals, forgetThrough) {
        await db.deleteFrom('pulse_refusals').where('client_id', '=', clientId).where('mid', '<=', forgetThrough).execute()
        if (refusals.length === 0) return
        const at = now()
        await db
          .insertInto('pulse_refusals')
          .values(refusals.map((r) => ({ client_id: clientId, mid: r.mid, code: r.code, message: r.message, field: r.field, at })))
          .onConflict((oc) => oc.columns(['client_id', 'mid']).doNothing())
          .execute()
      },

      listHistory: (model, recordId, sinceVersion) => selectHistory(s, model.name, recordId, sinceVersion),
      insertConflicts: (conflicts) => insertConflicts(db, conflicts),
      getConflict: (id) => selectConflict(db, id),
      updateConflict: (conflict) => updateConflict(db, conflict),

      async lockUsers(userIds) {
        const out = new Map<string, LockedUser>()
        if (userIds.length === 0) return out
        const rows = await db
          .withTables<AccountRows>()
          .selectFrom('pulse_users')
          .select(['id', 'scope_epoch', 'is_admin'])
          .where('id', 'in', [...userIds])
          .orderBy('id')
          .forShare()
          .execute()
        for (const r of rows) out.set(r.id, { scopeEpoch: Number(r.scope_epoch), admin: Boolean(r.is_admin) })
        return out
      },

      async userOrgIds(userId) {
        const rows = await db
          .withTables<AccountRows>()
          .selectFrom('pulse_members as m')
          .innerJoin('pulse_orgs as o', 'o.id', 'm.org_id')
          .select('m.org_id as orgId')
          .where('m.user_id', '=', userId)
          .orderBy('o.name')
          .execute()
        return rows.map((r) => r.orgId)
      },
    },
    isOpen,
  )
}
