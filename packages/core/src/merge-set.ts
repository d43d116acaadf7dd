/**
 * The `union` merge policy (PROTOCOL.md §5): a three-way merge of sets of strings against the
 * state both sides started from.
 */
import { normalizeSet } from './validate.ts'

/** A set as it may reach a merge: members in any order, maybe repeated; `null` or absent is empty. */
export type SetInput = readonly string[] | null | undefined

/**
 * Three-way set merge: a member added on either side (present there, absent from `base`) is
 * kept; a member removed on either side (present in `base`, absent there) is dropped; a member
 * of `base` that both sides kept stays. `null`/`undefined` count as the empty set. The result
 * is in canonical form (sorted by code unit, no repeats, as `normalizeSet`), and the merge is
 * symmetric in `server` and `client`.
 */
export function mergeSets(base: SetInput, server: SetInput, client: SetInput): string[] {
  const before = new Set(base ?? [])
  const theirs = new Set(server ?? [])
  const ours = new Set(client ?? [])
  const merged: string[] = []
  for (const member of new Set([...theirs, ...ours])) {
    // A base member survives only if neither side removed it; a new one came from an addition.
    const kept = before.has(member) ? theirs.has(member) && ours.has(member) : true
    if (kept) merged.push(member)
  }
  return normalizeSet(merged)
}
