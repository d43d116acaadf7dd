/**
 * The real-client convergence fuzz's end of a schedule (client-fuzz-run.ts runs it): every
 * client online and synced until nothing moves, then the checks — the server against the
 * reference, each client against the server's records in its scope, and a fate for every edit.
 */
import type { WireRecord } from '@pulse/core'
import type { EditLog, FuzzClient, Schedule } from './client-fuzz-run.ts'
import { expectSameRecord } from './convergence-world.ts'
import { canonical } from './reference-model.ts'
import { orgSyncSchema } from './sync-models.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits for `work`, failing after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Syncs one client, trying again while the server cannot be reached (a restart, a refreshed token). */
async function syncOne(c: FuzzClient): Promise<void> {
  await c.client.retryFailed()
  for (let attempt = 0; ; attempt++) {
    try {
      await within(10_000, `${c.name} sync()`, c.client.sync())
      return
    } catch (e) {
      if (attempt >= 40) throw new Error(`${c.name} cannot sync: ${String(e)}`)
      await sleep(25)
    }
  }
}

/**
 * Everyone online, then rounds of every client syncing until a round in which no push reached
 * the server and nothing was left to send (at least two: the last round pulls what the others pushed).
 */
export async function settle(s: Schedule): Promise<void> {
  for (const c of s.clients) c.net.up()
  for (let round = 0; ; round++) {
    const before = s.block.lastSeq
    await Promise.all(s.clients.map(syncOne))
    if (round >= 1 && s.block.lastSeq === before && s.clients.every((c) => c.client.outbox().length === 0)) break
    if (round > 20) {
      const queued = s.clients.map((c) => ({
        client: c.name,
        status: c.client.status(),
        outbox: c.client
          .outbox()
          .map((e) => ({ mid: e.mutation.mid, op: e.mutation.op, id: e.mutation.id, status: e.status, error: e.lastError })),
      }))
      throw new Error(`still pushing after 20 rounds of syncing (server at ${s.block.lastSeq}, was ${before}): ${JSON.stringify(queued)}`)
    }
  }
  for (const c of s.clients) await within(10_000, `${c.name} whenSynced()`, c.client.whenSynced())
}

const stripFlags = (r: Record<string, unknown>) => {
  const { localOnly: _l, syncError: _s, ...wire } = r
  return wire
}

/** The server's records of organization `org` (tombstones included), through its API token. */
async function serverRecords(s: Schedule, org: number): Promise<Map<string, { model: string; record: WireRecord }>> {
  const out = new Map<string, { model: string; record: WireRecord }>()
  let cursor: string | null = null
  for (;;) {
    const res = await s.block
      .serviceApi(org)
      .get(`/api/sync/pull?limit=5000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    if (res.status !== 200) throw new Error(`pull: ${res.status} ${res.text}`)
    for (const change of res.json.changes) out.set(change.record.id, { model: change.model, record: change.record })
    cursor = res.json.cursor
    if (!res.json.hasMore) return out
  }
}

/** What became of an edit; undefined when nothing did. */
function fateOf(s: Schedule, client: FuzzClient, edit: EditLog): string | undefined {
  if (edit.outcome !== 'queued') return edit.outcome
  const found = s.block.fatesOf(client.device.deviceId, edit.at as string, s.since)
  const last = found.at(-1)
  if (!last) return edit.foldedInto ? `folded, then ${fateOf(s, client, edit.foldedInto)}` : undefined
  const { status } = last.result
  if (status === 'conflict') {
    const id = last.result.conflict?.id ?? ''
    // An answer lost on the way (a restart) is answered again when the edit is sent again (§4):
    // the app hears of every conflict its edits opened through a `conflict` event.
    return client.conflicts.has(id) ? 'conflict (told)' : undefined
  }
  if (status === 'rejected')
    return client.rejected.some((r) => r.id === last.mutation.id && r.op === last.mutation.op) ? 'rejected (told)' : undefined
  return status
}

export async function check(s: Schedule): Promise<void> {
  const { block } = s
  if (block.problems.length > 0) throw new Error(`the server diverged from the reference:\n${block.problems.join('\n')}`)
  // (a) the server's records are the reference's; histories of the records written now match entry by entry.
  const server = new Map([...(await serverRecords(s, 0)), ...(await serverRecords(s, 1))])
  const reference = block.reference.all()
  const refIds = reference.map((r) => r.id).sort()
  if (canonical([...server.keys()].sort()) !== canonical(refIds)) throw new Error('the server has other records than the reference')
  for (const ref of reference) {
    const { model, record } = server.get(ref.id) as { model: string; record: WireRecord }
    if (model !== ref.model) throw new Error(`${ref.id}: model ${model}, reference ${ref.model}`)
    expectSameRecord(record, ref, `final state of ${model} ${ref.id}`)
    if (!block.touched.has(`${model}\u0000${ref.id}`)) continue
    const history = await block.server.storage.listHistory(orgSyncSchema.model(model), ref.id)
    const mine = history.map((h) => ({ version: h.version, op: h.op, changes: canonical(h.changes), deviceId: h.deviceId }))
    const theirs = ref.history.map((h) => ({ version: h.version, op: h.op, changes: canonical(h.changes), deviceId: h.deviceId }))
    if (canonical(mine) !== canonical(theirs))
      throw new Error(`${model} ${ref.id}: history ${JSON.stringify(mine)}; reference ${JSON.stringify(theirs)}`)
  }
  // (b) every client shows the server's live records of its user's organizations, nothing else.
  for (const c of s.clients) {
    const orgs = block.orgIds.filter((o) => block.members.get(o)?.has(c.device.user.userId))
    const expected = [...server.values()].filter((r) => r.record.deletedAt === null && orgs.includes(r.record.orgId as string))
    const shown = new Map<string, Record<string, unknown>>()
    for (const model of ['note', 'memo'])
      for (const r of await c.client.query(model)) shown.set(r.id, r as unknown as Record<string, unknown>)
    // A create the server refused stays shown (with its syncError) while the app has not discarded it.
    for (const r of c.client.rejections()) if (r.op === 'create' && !server.get(r.id)) shown.delete(r.id)
    const want = expected.map((r) => r.record.id).sort()
    if (canonical([...shown.keys()].sort()) !== canonical(want)) {
      // What the client and the server hold of each record shown or expected on one side only.
      const odd = [...new Set([...shown.keys(), ...want])].filter((id) => shown.has(id) !== want.includes(id))
      const about = odd.map((id) => ({
        id,
        client: shown.get(id),
        outbox: c.client.outbox().filter((e) => e.mutation.id === id),
        rejections: c.client.rejections().filter((r) => r.id === id),
        server: server.get(id)?.record,
      }))
      const errors = c.errors.slice(-8).map((e) => String(e))
      // The server's own word on the user's organizations, beside the schedule's bookkeeping.
      const me = await c.device.user.api.get('/api/users/me')
      const serverOrgs = me.status === 200 ? (me.json.orgs as { id: string }[]).map((o) => o.id) : `status ${me.status}`
      throw new Error(
        `${c.name} shows ${JSON.stringify([...shown.keys()].sort())}; the server has ${JSON.stringify(want)} in its scope; ` +
          `orgs ${JSON.stringify(orgs)} (the server says ${JSON.stringify(serverOrgs)}): ${JSON.stringify(about)}; status ${JSON.stringify(c.client.status())}; last errors ${JSON.stringify(errors)}`,
      )
    }
    for (const { record } of expected) {
      const local = shown.get(record.id) as Record<string, unknown>
      if (local.localOnly !== false) throw new Error(`${c.name}: ${record.id} still localOnly after syncing`)
      if (canonical(stripFlags(local)) !== canonical(record))
        throw new Error(`${c.name}: ${record.id} is ${JSON.stringify(stripFlags(local))}; the server has ${JSON.stringify(record)}`)
    }
    if (c.client.outbox().length > 0) throw new Error(`${c.name}: ${c.client.outbox().length} mutations still queued`)
  }
  // (c) the fate of every edit.
  for (const c of s.clients) {
    for (const edit of c.edits) {
      const fate = fateOf(s, c, edit)
      if (fate === undefined)
        throw new Error(
          `${c.name}: the edit "${edit.label}" of ${edit.model} ${edit.id} (at ${edit.at}) has no fate: neither applied, merged, stale, nor reported`,
        )
      const kind = fate.replace(/^folded, then .*/, 'folded')
      s.stats.fates[kind] = (s.stats.fates[kind] ?? 0) + 1
      s.stats.edits += 1
    }
  }
}
