/**
 * Live values in the shape React's `useSyncExternalStore` takes: `subscribe(listener)` and a
 * synchronous `getSnapshot()` that returns the same object until the value changes. A live
 * query depends on one model: a change to that model bumps the model's version, its
 * subscribed queries recompute, and only those whose result differs notify.
 */

/** A value that changes over time. */
export interface Live<T> {
  /** Calls `listener` after each change of the value; returns the function that stops it. */
  subscribe(listener: () => void): () => void
  /** The current value: the same object for as long as the value has not changed. */
  getSnapshot(): T
}

/** Per-model change counters and listeners. */
export class ModelVersions {
  private readonly versions = new Map<string, number>()
  private readonly listeners = new Map<string, Set<() => void>>()

  constructor(private readonly onError: (error: unknown) => void) {}

  /** How many times the model changed. */
  version(model: string): number {
    return this.versions.get(model) ?? 0
  }

  /** Records that these models changed and tells their listeners. */
  touch(models: Iterable<string>): void {
    for (const model of models) {
      this.versions.set(model, this.version(model) + 1)
      for (const listener of [...(this.listeners.get(model) ?? [])]) {
        try {
          listener()
        } catch (e) {
          this.onError(e)
        }
      }
    }
  }

  /** Listens to a model's changes. */
  listen(model: string, listener: () => void): () => void {
    let set = this.listeners.get(model)
    if (!set) {
      set = new Set()
      this.listeners.set(model, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }
}

/** Two results are the same when they hold the same record objects in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i])
}

/**
 * A live value computed from one model: `compute` runs again only after that model changed,
 * and its result replaces the snapshot only when `equal` says it differs.
 */
export function liveOf<T>(versions: ModelVersions, model: string, compute: () => T, equal: (a: T, b: T) => boolean): Live<T> {
  let cached: { version: number; value: T } | undefined
  const getSnapshot = (): T => {
    const version = versions.version(model)
    if (cached && cached.version === version) return cached.value
    const value = compute()
    cached = { version, value: cached && equal(cached.value, value) ? cached.value : value }
    return cached.value
  }
  return {
    getSnapshot,
    subscribe(listener) {
      getSnapshot()
      return versions.listen(model, () => {
        const before = cached?.value
        if (getSnapshot() !== before) listener()
      })
    },
  }
}
