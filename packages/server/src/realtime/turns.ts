/**
 * Turns on the event loop for work that blocks it: catch-up and socket pull pages (a page read
 * on SQLite runs synchronously). A session waits for its turn before each page; turns are
 * handed out one per event-loop iteration (`setImmediate`), in arrival order, so between two
 * pages the loop polls its I/O: a health check or a push waits for at most one page read, not
 * for every socket's catch-up. Without turns, a thousand sockets catching up at once chain
 * page after page in promise continuations, and the loop answered nothing else for seconds
 * (bench/reconnect-storm.ts: healthz p99 87× its idle figure).
 *
 * Memory: one waiting entry per session waiting for a page (each waits for one at a time).
 */

/** Resolves when it is the caller's turn: at most one turn starts per event-loop iteration. */
export type TakeTurn = (signal?: AbortSignal) => Promise<void>

/** A queue of turns; `schedule` defers to the next iteration (setImmediate; tests inject their own). */
export function createTurns(schedule: (fn: () => void) => void = setImmediate): TakeTurn {
  const waiting: (() => void)[] = []
  let pumping = false
  const pump = (): void => {
    const next = waiting.shift()
    if (!next) {
      pumping = false
      return
    }
    next()
    schedule(pump)
  }
  return (signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      waiting.push(resolve)
      if (!pumping) {
        pumping = true
        schedule(pump)
      }
    })
}
