/**
 * Myers' O((N+M)·D) difference algorithm over sequences of integers (interned tokens), with a
 * budget: past a maximum edit distance or amount of work it stops searching and reports the
 * whole differing middle as one change. That answer is still a correct edit script, only not
 * a minimal one, so callers stay correct (a three-way merge sees more overlap) and no input
 * takes pathological time or memory.
 */

/** One change: `a[aStart, aEnd)` is replaced by `b[bStart, bEnd)`; either range may be empty. */
export interface DiffHunk {
  readonly aStart: number
  readonly aEnd: number
  readonly bStart: number
  readonly bEnd: number
}

/** Limits of the search; past either, the middle is reported as one change. */
export interface DiffBudget {
  /** Largest edit distance (insertions + deletions) searched for. Memory grows with its square. */
  readonly maxEditDistance: number
  /** Most token comparisons and diagonal steps made before giving up. */
  readonly maxWork: number
}

/** The default budget: about 16 MB and well under a second at worst. */
export const DEFAULT_DIFF_BUDGET: DiffBudget = { maxEditDistance: 2_000, maxWork: 20_000_000 }

const UNREACHABLE = -1

/**
 * The furthest x reachable on diagonal k with cost d, from the previous round's furthest
 * points `prev(k)`; `down` tells whether the last move was an insertion (down) or a deletion
 * (right). Forward search and backtracking share this, so they agree on every choice.
 */
function choose(prev: (k: number) => number, k: number, d: number, n: number, m: number): { x: number; down: boolean } {
  const fromBelow = k < d ? prev(k + 1) : UNREACHABLE
  const xDown = fromBelow !== UNREACHABLE && fromBelow - k <= m ? fromBelow : UNREACHABLE
  const fromLeft = k > -d ? prev(k - 1) : UNREACHABLE
  const xRight = fromLeft !== UNREACHABLE && fromLeft + 1 <= n ? fromLeft + 1 : UNREACHABLE
  if (xDown === UNREACHABLE && xRight === UNREACHABLE) return { x: UNREACHABLE, down: false }
  return xDown >= xRight ? { x: xDown, down: true } : { x: xRight, down: false }
}

type Op = 0 | 1 | 2 // equal, delete from a, insert from b
const EQUAL: Op = 0
const DELETE: Op = 1
const INSERT: Op = 2

/**
 * The changes that turn `a` into `b`, in order, non-overlapping and separated by at least one
 * unchanged element. Minimal (fewest insertions plus deletions) within `budget`.
 */
export function diffSequences(a: ArrayLike<number>, b: ArrayLike<number>, budget: DiffBudget = DEFAULT_DIFF_BUDGET): DiffHunk[] {
  // Common prefix and suffix cost nothing and are the usual case for small edits.
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const n = endA - start
  const m = endB - start
  if (n === 0 && m === 0) return []
  const whole: DiffHunk[] = [{ aStart: start, aEnd: endA, bStart: start, bEnd: endB }]
  if (n === 0 || m === 0) return whole

  const maxD = Math.min(n + m, budget.maxEditDistance)
  const offset = maxD + 1
  const v = new Int32Array(2 * maxD + 3).fill(UNREACHABLE)
  const trace: Int32Array[] = []
  let work = 0
  let found = -1
  search: for (let d = 0; d <= maxD; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = d === 0 ? 0 : choose((j) => v[offset + j] ?? UNREACHABLE, k, d, n, m).x
      if (x !== UNREACHABLE) {
        const x0 = x
        let y = x - k
        while (x < n && y < m && a[start + x] === b[start + y]) {
          x++
          y++
        }
        work += x - x0 + 1
        if (x === n && y === m) {
          found = d
          break search
        }
      }
      v[offset + k] = x
    }
    trace.push(v.slice(offset - d, offset + d + 1))
    if (work > budget.maxWork) return whole
  }
  if (found < 0) return whole

  // Walk back from (n, m), recording one op per step, then read the ops forwards into hunks.
  const ops: Op[] = []
  let x = n
  let y = m
  for (let d = found; d > 0; d--) {
    const k = x - y
    const prevRound = trace[d - 1] as Int32Array // trace holds one entry per round 0..found
    const { x: landX, down } = choose((j) => prevRound[j + d - 1] ?? UNREACHABLE, k, d, n, m)
    for (; x > landX; x--, y--) ops.push(EQUAL)
    ops.push(down ? INSERT : DELETE)
    if (down) y--
    else x--
  }
  for (; x > 0; x--) ops.push(EQUAL)

  const hunks: DiffHunk[] = []
  let i = start
  let j = start
  let open: { aStart: number; bStart: number } | undefined
  for (let p = ops.length - 1; p >= 0; p--) {
    const op = ops[p]
    if (op === EQUAL) {
      if (open) hunks.push({ aStart: open.aStart, aEnd: i, bStart: open.bStart, bEnd: j })
      open = undefined
      i++
      j++
      continue
    }
    open ??= { aStart: i, bStart: j }
    if (op === DELETE) i++
    else j++
  }
  if (open) hunks.push({ aStart: open.aStart, aEnd: i, bStart: open.bStart, bEnd: j })
  return hunks
}
