/**
 * The end of a round (check c): everything the server holds that changed in the round is what
 * the accepted writes made — no record the world does not know, no version it did not see —
 * and each version's history entry names the request and the user that made it, each of which
 * was allowed to write the record then (checked when the write was accepted, `Game.approve`).
 */
import { pluralOf } from './data.ts'
import type { Game, Json } from './game.ts'
import { dropSocket } from './moves-sync.ts'
import type { Actor } from './world.ts'

/** Audits the round as `auditor` (an admin token the moves never use); returns the cursor for the next audit. */
export async function auditRound(game: Game, auditor: Actor, from: string | null): Promise<string | null> {
  const { world } = game
  for (const s of [...world.sockets]) dropSocket(game, s)
  let cursor = from
  const changed = new Map<string, Json>()
  for (let page = 0; page < 1000; page++) {
    const res = await game.http(auditor, 'GET', `/api/sync/pull?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
    if (res.status !== 200) game.fail(`the audit pull answered ${res.status}`, res.json)
    for (const c of res.json.changes as Json[]) if (!c.removed) changed.set(`${c.model}:${c.record.id}`, c)
    cursor = res.json.cursor
    if (!res.json.hasMore) break
  }
  for (const c of changed.values()) {
    const ref = world.record(String(c.model), String(c.record.id))
    if (!ref) game.fail(`unauthorised write: the server holds a ${c.model} no accepted write made`, c)
    const r = c.record as Json
    if (
      r.version !== ref.version ||
      (r.deletedAt !== null) !== ref.deleted ||
      (r.orgId ?? null) !== ref.orgId ||
      (r.ownerId ?? null) !== ref.ownerId
    )
      game.fail(`the server's ${c.model} differs from what the accepted writes made`, { server: r, reference: ref })
    const history = await game.http(auditor, 'GET', `/api/${pluralOf(ref.model)}/${ref.id}/history`)
    const entries = history.json.items as Json[]
    const versions = entries.map((e) => e.version)
    const all = Array.from({ length: ref.version }, (_, i) => i + 1)
    if (JSON.stringify(versions) !== JSON.stringify(all))
      game.fail(`the history of ${c.model} ${ref.id} is not one entry per version`, { versions, ref })
    for (const e of entries) {
      const expected = world.expectedHistory.get(`${ref.model}:${ref.id}:${e.version}`)
      if (!expected || expected.requestId !== e.requestId || expected.userId !== e.userId)
        game.fail(`unauthorised write: version ${e.version} of ${c.model} ${ref.id} was written by a request no check approved`, {
          entry: e,
          expected,
        })
    }
    game.count('records audited')
  }
  return cursor
}
