/**
 * The `text` merge policy (PROTOCOL.md §5): a three-way merge (diff3) of the text both sides
 * started from and the two edited versions, at word granularity. Edits that touch different
 * words combine; edits that overlap or touch make the merge fail, and the caller settles the
 * field by its `fallback` policy instead.
 */
import { type DiffHunk, diffSequences } from './diff-sequences.ts'

/** The outcome of a text merge: the merged text, or `ok: false` when the edits overlap. */
export type MergeTextResult = { readonly ok: true; readonly value: string } | { readonly ok: false }

// Runs of whitespace, runs of word characters (letters with their combining marks, digits,
// `_`), or any other single code point. Together they cover every string, so joining the
// tokens gives the text back, and a cut between tokens never splits a surrogate pair.
const TOKEN = /\s+|[\p{L}\p{M}\p{N}_]+|[\s\S]/gu

/** Splits text into the tokens the merge compares: words, whitespace runs and single symbols. */
export function tokenizeText(text: string): string[] {
  return text.match(TOKEN) ?? []
}

interface SideHunk extends DiffHunk {
  readonly side: 0 | 1
}

/**
 * Three-way merges `server` and `client`, both edited from `base`. Every change one side made
 * to a stretch of `base` that the other side left alone is applied; a stretch both sides
 * changed in the same way is taken once; a stretch both changed differently, or where both
 * inserted at the same point or changed adjacent tokens, is a conflict (`ok: false`). The
 * merge is symmetric in `server` and `client`, and `mergeText(b, b, x)`, `mergeText(b, x, b)`
 * and `mergeText(b, x, x)` all give `x`. Work is bounded (see `diffSequences`): a pathological
 * pair of texts yields a coarser diff, so more conflicts, never a slow merge.
 */
export function mergeText(base: string, server: string, client: string): MergeTextResult {
  if (server === client || client === base) return { ok: true, value: server }
  if (server === base) return { ok: true, value: client }

  const tokens = [tokenizeText(base), tokenizeText(server), tokenizeText(client)] as const
  const ids = new Map<string, number>()
  const intern = (list: readonly string[]): Int32Array =>
    Int32Array.from(list, (token) => {
      const known = ids.get(token)
      if (known !== undefined) return known
      ids.set(token, ids.size)
      return ids.size - 1
    })
  const [baseIds, serverIds, clientIds] = tokens.map(intern) as [Int32Array, Int32Array, Int32Array]
  const hunks: SideHunk[] = [
    ...diffSequences(baseIds, serverIds).map((h): SideHunk => ({ ...h, side: 0 })),
    ...diffSequences(baseIds, clientIds).map((h): SideHunk => ({ ...h, side: 1 })),
  ].sort((x, y) => x.aStart - y.aStart || x.aEnd - y.aEnd || x.side - y.side)

  const sides = [tokens[1], tokens[2]] as const
  const out: string[] = []
  let basePos = 0
  for (let i = 0; i < hunks.length; ) {
    const first = hunks[i] as SideHunk // i < hunks.length
    // A group: hunks whose base ranges overlap or touch. Hunks of one side never touch each
    // other, so a group with one side's hunk only is exactly that hunk.
    const group: SideHunk[] = [first]
    let groupEnd = first.aEnd
    for (i++; i < hunks.length && (hunks[i] as SideHunk).aStart <= groupEnd; i++) {
      const next = hunks[i] as SideHunk
      group.push(next)
      groupEnd = Math.max(groupEnd, next.aEnd)
    }
    const groupStart = first.aStart
    for (let p = basePos; p < groupStart; p++) out.push(tokens[0][p] as string)
    basePos = groupEnd

    if (group.length === 1) {
      out.push(...sides[first.side].slice(first.bStart, first.bEnd))
      continue
    }
    // Both sides changed this stretch: fine only if they made it read the same.
    const [serverText, clientText] = ([0, 1] as const).map((side) => {
      const own = group.filter((h) => h.side === side)
      const head = own[0] as SideHunk // groups of more than one hunk hold both sides
      const tail = own[own.length - 1] as SideHunk
      return sides[side].slice(head.bStart - (head.aStart - groupStart), tail.bEnd + (groupEnd - tail.aEnd)).join('')
    })
    if (serverText !== clientText) return { ok: false }
    out.push(serverText as string)
  }
  for (let p = basePos; p < tokens[0].length; p++) out.push(tokens[0][p] as string)
  return { ok: true, value: out.join('') }
}
