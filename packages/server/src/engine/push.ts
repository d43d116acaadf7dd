/**
 * Push (PROTOCOL.md §4): a device's mutations through the one write path, exactly once, each
 * answered with its own result — the wire's `Mutation` in, the wire's `PushResult` out.
 */
import { type Mutation, PulseError, type PushRequest, type PushResponse, type PushResult } from '@pulse/core'
import { type Context, clientOwnerOf, mayUseClientId } from './context.ts'
import { toWire } from './records.ts'
import { applyWrites, type WriteDeps, type WriteOutcome } from './write.ts'
import type { WriteOp } from './write-op.ts'

/** The write op of a pushed mutation: its sync metadata is the mutation's own (§4). */
function writeOpOf(m: Mutation): WriteOp {
  const sync = { mid: m.mid, vclock: m.vclock, at: m.at, ...(m.baseVersion !== undefined ? { baseVersion: m.baseVersion } : {}) }
  if (m.op === 'delete') return { op: 'delete', model: m.model, id: m.id, sync }
  return { op: m.op, model: m.model, id: m.id, data: m.data ?? {}, sync }
}

/**
 * The §4 result of one mutation: `unchanged` is answered as `applied`; a refusal as `rejected`
 * with its error; a mid already recorded before the push is marked `replayed`.
 */
function pushResultOf(mid: number, outcome: WriteOutcome, replayed: boolean): PushResult {
  const again = replayed ? { replayed: true as const } : {}
  if (!outcome.ok) {
    const field = outcome.error.details?.[0]?.field
    return {
      mid,
      status: 'rejected',
      error: { code: outcome.error.code, message: outcome.error.message, ...(field ? { field } : {}) },
      ...again,
    }
  }
  const { record, conflict } = outcome
  const status = outcome.status === 'unchanged' ? 'applied' : outcome.status
  return { mid, status, ...(record ? { record: toWire(record) } : {}), ...(conflict ? { conflict } : {}), ...again }
}

/**
 * Applies a device's mutations in one transaction, in `mid` order, and answers one result per
 * mutation. The caller must be allowed to push as `request.clientId` (its own device, or a
 * service's clientId it owns), else the whole push is `forbidden` and nothing is read.
 */
export async function pushMutations(deps: WriteDeps, ctx: Context, request: PushRequest): Promise<PushResponse> {
  // §4: the clientId must be the device the caller authenticated as.
  if (!mayUseClientId(ctx.actor, request.clientId)) throw new PulseError('forbidden', 'clientId is not the device of your token')
  const ops = request.mutations.map(writeOpOf)
  const { outcomes, lastMid, previousMid } = await applyWrites(deps, ctx, ops, {
    clientId: request.clientId,
    clientOwner: clientOwnerOf(ctx.actor),
  })
  return {
    lastMid,
    results: outcomes.map((o, i) => {
      const mid = request.mutations[i]?.mid ?? 0
      return pushResultOf(mid, o, mid <= previousMid)
    }),
  }
}
