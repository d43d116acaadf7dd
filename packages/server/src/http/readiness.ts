/**
 * Readiness: can this server write to its database now? Proven by a write-and-read probe, run
 * at most once per interval however often it is asked (the answer is cached), and by the
 * outcome of the real writes the server makes: a write that failed because the database could
 * not take it (disk full, connection lost) keeps the server unready until a real write succeeds
 * or a while has passed, even when the tiny probe row still fits.
 */
import { isPulseError } from '@pulse/core'
import type { SqlStorage, Storage } from '../storage/storage.ts'

/** What readiness reports. */
export interface ReadyReport {
  ready: boolean
  database: { kind: Storage['kind']; ok: boolean; latencyMs: number | null; checkedAt: string }
  /** The last write (probe or real) that failed, with why; null when none has. */
  lastWriteError: { at: string; message: string } | null
}

/** Readiness of one server. */
export interface Readiness {
  /** The report, probing first when the last probe is older than the interval. */
  check(): Promise<ReadyReport>
  /** Records the outcome of a real write (an error: it failed). */
  noteWrite(error?: unknown): void
}

/** Options of `createReadiness`. */
export interface ReadinessOptions {
  /** A probe's result is reused for this long (default 5 s). */
  probeIntervalMs?: number
  /** A probe not done within this counts as failed (default 2 s). */
  probeTimeoutMs?: number
  /** A real write that failed keeps the server unready for this long, or until a real write succeeds (default 30 s). */
  writeFailureWindowMs?: number
  /** The clock (tests). */
  now?: () => number
}

/** Default interval between two probes. */
export const DEFAULT_PROBE_INTERVAL_MS = 5_000
const DEFAULT_PROBE_TIMEOUT_MS = 2_000
const DEFAULT_WRITE_FAILURE_WINDOW_MS = 30_000

/** Why a write failed, fit for an unauthenticated caller: the cause, not the database's address. */
export function writeFailureReason(error: unknown): string {
  const reason = (error as { reason?: unknown } | null)?.reason
  if (typeof reason === 'string') return reason
  if (error instanceof Error && error.name === 'TimeoutError') return 'the database did not answer a write and a read in time'
  return 'the database did not take a write'
}

/**
 * True when a write failed because the database could not take it (`database_unavailable`:
 * unreachable, disk full, read-only), not because of what was written: a caller must not be
 * able to make the server unready with bad input.
 */
function isStorageFailure(error: unknown): boolean {
  return isPulseError(error) && error.code === 'database_unavailable'
}

/** Readiness of `storage`. */
export function createReadiness(storage: Storage, options: ReadinessOptions = {}): Readiness {
  const now = options.now ?? Date.now
  const intervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS
  const timeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS
  const windowMs = options.writeFailureWindowMs ?? DEFAULT_WRITE_FAILURE_WINDOW_MS
  let probed: { at: number; ok: boolean; latencyMs: number | null } | undefined
  let running: Promise<void> | undefined
  let lastError: { at: number; message: string } | undefined
  let lastRealFailureAt = Number.NEGATIVE_INFINITY

  // The database call of the last probe, until it settles: a probe that timed out may still be
  // waiting on a lock, and another one would only take another connection to wait beside it.
  let pending: Promise<void> | undefined

  async function probe(): Promise<void> {
    const started = performance.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      if (!pending) {
        const call = storage.probe(AbortSignal.timeout(timeoutMs))
        pending = call.then(
          () => undefined,
          () => undefined,
        )
        void pending.then(() => {
          pending = undefined
        })
        await Promise.race([
          call,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error('probe timed out'), { name: 'TimeoutError' })), timeoutMs)
          }),
        ])
      } else throw Object.assign(new Error('the last probe has not answered'), { name: 'TimeoutError' })
      probed = { at: now(), ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 }
    } catch (e) {
      probed = { at: now(), ok: false, latencyMs: null }
      lastError = { at: now(), message: writeFailureReason(e) }
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async check() {
      // One probe at a time: a probe that hangs is not joined by another on every request.
      if (!running && (!probed || now() - probed.at >= intervalMs)) {
        running = probe().finally(() => {
          running = undefined
        })
      }
      // The probe settles within its timeout, so no request waits longer than that.
      if (running) await running
      const p = probed ?? { at: now(), ok: false, latencyMs: null }
      const ready = p.ok && now() - lastRealFailureAt >= windowMs
      return {
        ready,
        database: { kind: storage.kind, ok: p.ok, latencyMs: p.latencyMs, checkedAt: new Date(p.at).toISOString() },
        lastWriteError: lastError ? { at: new Date(lastError.at).toISOString(), message: lastError.message } : null,
      }
    },
    noteWrite(error) {
      if (error === undefined) {
        // A real write went through: it proves what a probe would, and whatever failed is over.
        lastRealFailureAt = Number.NEGATIVE_INFINITY
        if (probed && !probed.ok) probed = { at: now(), ok: true, latencyMs: null }
        return
      }
      if (!isStorageFailure(error)) return
      lastRealFailureAt = now()
      lastError = { at: lastRealFailureAt, message: writeFailureReason(error) }
    },
  }
}

/**
 * `storage` with every transaction's outcome told to `readiness`: a write that the database
 * refused (not one the engine refused) makes the server unready for a while.
 */
export function observeWrites(storage: SqlStorage, readiness: Readiness): SqlStorage {
  const observe = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      const result = await run()
      readiness.noteWrite()
      return result
    } catch (e) {
      readiness.noteWrite(e)
      throw e
    }
  }
  return {
    ...storage,
    transaction: (fn, signal) => observe(() => storage.transaction(fn, signal)),
    sql: { ...storage.sql, transaction: (fn, signal) => observe(() => storage.sql.transaction(fn, signal)) },
  }
}
