/**
 * Conformance: client rows (§4: lastMid, who owns a clientId, pushes of one client in turn,
 * remembered refusals),
 * the upgrades of storage-format-1 and -4 databases, and conflict listings (§5: scope, pages).
 */
import { type Conflict, uuidv7 } from '@pulse/core'
import { describe, expect, it } from 'vitest'
import type { ChangeEntry, SqlStorage, Storage } from '../storage.ts'
import { SYSTEM_UPGRADES } from '../system-tables.ts'
import { at, change, type SuiteContext, sleep, suiteSchema } from './fixtures.ts'

const claim = (s: Storage, clientId: string, owner: string | null) => s.transaction((tx) => tx.claimClient(clientId, owner))

/** Tests of client rows, the format upgrade and conflict listings. */
export function clientTests(ctx: SuiteContext): void {
  describe('client rows', () => {
    it('creates an unknown client at lastMid 0, keeps its first owner, and keeps the last mid set', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      expect(await claim(s, 'svc-x', null)).toEqual({ lastMid: 0, owner: null })
      // The system claims nothing: the first owner to come takes the row.
      expect(await claim(s, 'svc-x', 'org:a')).toEqual({ lastMid: 0, owner: 'org:a' })
      await s.transaction((tx) => tx.setClientMid('svc-x', 5))
      expect(await claim(s, 'svc-x', 'org:b')).toEqual({ lastMid: 5, owner: 'org:a' })
      expect(await claim(s, 'svc-x', null)).toEqual({ lastMid: 5, owner: 'org:a' })
      await s.transaction((tx) => tx.setClientMid('svc-x', Number.MAX_SAFE_INTEGER))
      expect(await claim(s, 'svc-x', 'org:a')).toEqual({ lastMid: Number.MAX_SAFE_INTEGER, owner: 'org:a' })
      expect(await claim(s, 'dev_y', 'user:u')).toEqual({ lastMid: 0, owner: 'user:u' })
    })

    it('holds a claimed row until the transaction ends: two pushes of one client run one after the other', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const seen: number[] = []
      const push = () =>
        s.transaction(async (tx) => {
          const { lastMid } = await tx.claimClient('dev_race', 'user:u')
          await sleep(30)
          await tx.setClientMid('dev_race', lastMid + 1)
          return lastMid
        })
      for (const mid of await Promise.all([push(), push(), push()])) seen.push(mid)
      expect(seen.sort()).toEqual([0, 1, 2])
      expect(await claim(s, 'dev_race', 'user:u')).toEqual({ lastMid: 3, owner: 'user:u' })
    })

    it('remembers refusals by client and mid, keeps the first of a mid, and forgets those at or below the window', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const refusal = (mid: number, code = 'validation_failed') => ({
        mid,
        code,
        message: `mid ${mid} refused`,
        field: mid === 3 ? 'title' : null,
      })
      await s.transaction((tx) => tx.recordRefusals('dev_r', [refusal(3), refusal(5, 'forbidden')], 0))
      await s.transaction((tx) => tx.recordRefusals('dev_other', [refusal(3, 'clock_ahead')], 0))
      const listed = await s.transaction((tx) => tx.listRefusals('dev_r', [1, 3, 5, 9]))
      expect(listed.sort((a, b) => a.mid - b.mid)).toEqual([refusal(3), refusal(5, 'forbidden')])
      expect(await s.transaction((tx) => tx.listRefusals('dev_r', []))).toEqual([])
      // A mid is refused once: a second record of it keeps the first.
      await s.transaction((tx) => tx.recordRefusals('dev_r', [refusal(5, 'bad_request'), refusal(8)], 3))
      const after = await s.transaction((tx) => tx.listRefusals('dev_r', [3, 5, 8]))
      expect(after.sort((a, b) => a.mid - b.mid)).toEqual([refusal(5, 'forbidden'), refusal(8)])
      expect(await s.transaction((tx) => tx.listRefusals('dev_other', [3]))).toEqual([refusal(3, 'clock_ahead')])
    })

    it('upgrades a storage-format-4 database: a kept removal keeps its scope, and a second move adds one (§8)', async ({ skip }) => {
      const s = ctx.storage()
      if (!('sql' in s)) return skip('a format of SQL tables')
      const sqlStorage = s as SqlStorage
      await s.migrate(suiteSchema)
      const id = uuidv7()
      await s.transaction((tx) => tx.appendChanges([change(id, { orgId: 'o1', removed: true }), change(id, { version: 2, orgId: 'o2' })]))
      // Make it look like format 4: one removal per record, no scope_left column.
      await sqlStorage.sql.transaction(async (db) => {
        await db.schema.dropIndex('pulse_changes__entry_idx').execute()
        await db.schema.alterTable('pulse_changes').dropColumn('scope_left').execute()
        await db.schema
          .createIndex('pulse_changes__model_record_id_removed_idx')
          .unique()
          .on('pulse_changes')
          .columns(['model', 'record_id', 'removed'])
          .execute()
        await db.updateTable('pulse_meta').set({ value: '4' }).where('key', '=', 'storage_format').execute()
      })
      await s.migrate(suiteSchema)
      await s.transaction((tx) =>
        tx.appendChanges([change(id, { version: 2, orgId: 'o2', removed: true }), change(id, { version: 3, orgId: 'o3' })]),
      )
      // The same scope left again replaces its removal: the kept row got the key new rows get.
      await s.transaction((tx) =>
        tx.appendChanges([change(id, { version: 3, orgId: 'o3', removed: true }), change(id, { version: 4, orgId: 'o1' })]),
      )
      await s.transaction((tx) =>
        tx.appendChanges([change(id, { version: 4, orgId: 'o1', removed: true }), change(id, { version: 5, orgId: 'o2' })]),
      )
      const rows = (await s.readChanges(0, 1000)).filter((r) => r.recordId === id)
      expect(rows.map((r) => [r.removed, r.orgId])).toEqual([
        [true, 'o2'],
        [true, 'o3'],
        [true, 'o1'],
        [false, 'o2'],
      ])
      const format = await sqlStorage.sql.read((db) =>
        db.selectFrom('pulse_meta').select('value').where('key', '=', 'storage_format').executeTakeFirst(),
      )
      expect(format?.value).toBe(String(SYSTEM_UPGRADES.length + 1))
    })

    it('upgrades a storage-format-1 database: client rows gain an owner column, kept rows unowned', async ({ skip }) => {
      const s = ctx.storage()
      if (!('sql' in s)) return skip('a format of SQL tables')
      const sqlStorage = s as SqlStorage
      await s.migrate(suiteSchema)
      await s.transaction((tx) => tx.setClientMid('legacy', 7))
      // Make it look like format 1: no owner column, format 1 recorded.
      await sqlStorage.sql.transaction(async (db) => {
        await db.schema.alterTable('pulse_clients').dropColumn('owner').execute()
        await db.updateTable('pulse_meta').set({ value: '1' }).where('key', '=', 'storage_format').execute()
      })
      await expect(claim(s, 'legacy', 'org:a')).rejects.toThrow()
      await s.migrate(suiteSchema)
      expect(await claim(s, 'legacy', 'org:a')).toEqual({ lastMid: 7, owner: 'org:a' })
      const format = await sqlStorage.sql.read((db) =>
        db.selectFrom('pulse_meta').select('value').where('key', '=', 'storage_format').executeTakeFirst(),
      )
      expect(format?.value).toBe(String(SYSTEM_UPGRADES.length + 1))
      // Idempotent: migrating again changes nothing.
      expect(await s.migrate(suiteSchema)).toEqual({ steps: [], applied: true })
    })
  })

  describe('conflicts', () => {
    const conflict = (n: number, over: Partial<Conflict> = {}): Conflict => ({
      id: uuidv7(),
      model: 'item',
      recordId: uuidv7(),
      fields: ['name'],
      base: { name: 'a' },
      local: { name: `local ${n} 'quoted'` },
      remote: { name: 'remote', tags: ['x'] },
      clientId: 'dev_a',
      userId: 'u1',
      createdAt: at(n),
      status: 'open',
      ...over,
    })
    const live = (c: Conflict, over: Partial<ChangeEntry>): ChangeEntry => change(c.recordId, { model: c.model, ...over })

    it('stores, locks, updates and lists conflicts newest first', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const [c1, c2, c3] = [conflict(1), conflict(2, { userId: 'u2', clientId: null }), conflict(3)]
      await s.transaction((tx) => tx.insertConflicts([c1, c2, c3]))
      expect(await s.transaction((tx) => tx.getConflict(c2.id))).toEqual(c2)
      expect(await s.transaction((tx) => tx.getConflict(uuidv7()))).toBeUndefined()
      const resolved: Conflict = {
        ...c1,
        status: 'resolved',
        resolution: { choice: 'custom', data: { name: 'z' }, resolvedAt: at(9), resolvedBy: 'u1' },
      }
      await s.transaction((tx) => tx.updateConflict(resolved))
      expect(await s.listConflicts({ limit: 10 })).toEqual([c3, c2, resolved])
      expect(await s.listConflicts({ userId: 'u1', limit: 10 })).toEqual([c3, resolved])
      expect(await s.listConflicts({ userId: 'u1', status: 'open', limit: 10 })).toEqual([c3])
      expect(await s.listConflicts({ status: 'resolved', limit: 10 })).toEqual([resolved])
      expect(await s.listConflicts({ limit: 1 })).toEqual([c3])
    })

    it('lists by the scope each record has now, and pages by position without skipping a tie', async () => {
      const s = ctx.storage()
      await s.migrate(suiteSchema)
      const [inA, inB, movedToA, mine, purged, global] = [
        conflict(1),
        conflict(2),
        conflict(3),
        conflict(4),
        conflict(5),
        conflict(6, { model: 'kinds' }),
      ]
      const tied = [conflict(7), conflict(7), conflict(7)]
      await s.transaction(async (tx) => {
        await tx.insertConflicts([inA, inB, movedToA, mine, purged, global, ...tied])
        await tx.appendChanges([
          live(inA, { orgId: 'A' }),
          live(inB, { orgId: 'B' }),
          // Opened in B, since moved to A: its removal entry names B, its live entry A.
          live(movedToA, { orgId: 'B', removed: true }),
          live(movedToA, { orgId: 'A' }),
          live(mine, { ownerId: 'u1' }),
          live(global, {}),
          ...tied.map((c) => live(c, { orgId: 'A' })),
        ])
      })
      const ids = (list: Conflict[]) => list.map((c) => c.id)
      const scopeOf = (userId: string | null, orgIds: string[]) => ({ globalModels: ['kinds'], userId, orgIds })
      const newestFirst = [...tied].sort((x, y) => (x.id < y.id ? 1 : -1))
      expect(ids(await s.listConflicts({ scope: scopeOf(null, ['A']), limit: 20 }))).toEqual(ids([...newestFirst, global, movedToA, inA]))
      expect(ids(await s.listConflicts({ scope: scopeOf('u1', ['B']), limit: 20 }))).toEqual(ids([global, mine, inB]))
      expect(await s.listConflicts({ scope: { globalModels: [], userId: null, orgIds: [] }, limit: 20 })).toEqual([])
      // Pages of two: every conflict once, ties on createdAt split by id.
      const paged: Conflict[] = []
      let before: { createdAt: string; id: string } | undefined
      for (;;) {
        const page = await s.listConflicts({ scope: scopeOf(null, ['A']), limit: 2, ...(before ? { before } : {}) })
        paged.push(...page)
        const last = page[page.length - 1]
        if (page.length < 2 || !last) break
        before = { createdAt: last.createdAt, id: last.id }
      }
      expect(ids(paged)).toEqual(ids([...newestFirst, global, movedToA, inA]))
      expect(ids(await s.listConflicts({ limit: 20 }))).toContain(purged.id)
    })
  })
}
