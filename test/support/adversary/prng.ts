/**
 * A small seeded random source for the adversary fuzz: the same seed gives the same choices,
 * so a failing round replays (the server's ids differ, but every choice indexes the same lists).
 */

/** Seeded choices. */
export class Prng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** One element of a non-empty list (undefined for an empty one). */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.next() * items.length)]
  }

  /** One of `choices`, each with its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0)
    let r = this.next() * total
    for (const [w, value] of choices) {
      r -= w
      if (r < 0) return value
    }
    return (choices[choices.length - 1] as readonly [number, T])[1]
  }

  /** A random subset (each element with probability `p`). */
  subset<T>(items: readonly T[], p: number): T[] {
    return items.filter(() => this.chance(p))
  }

  /** A short random word (for names and text). */
  word(): string {
    return Math.floor(this.next() * 2 ** 32).toString(36)
  }
}
