/**
 * For the client's unit tests: a `Clock` whose time moves only when the test says so, and
 * `settle`, which lets the promises and socket events queued so far run. Not shipped (the build
 * leaves `*.test-support.ts` out).
 */
import type { Clock } from './platform.ts'

/** Time that moves only when the test says so. */
export class ManualClock implements Clock {
  private timers: { at: number; seq: number; run: () => void }[] = []
  private seq = 0
  constructor(private t = Date.parse('2026-11-23T10:00:00.000Z')) {}
  now(): number {
    return this.t
  }
  after(ms: number, run: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, run }
    this.timers.push(timer)
    return () => {
      this.timers = this.timers.filter((x) => x !== timer)
    }
  }
  /** Moves time forward by `ms`, running each timer due on the way (and the work it starts). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      await settle()
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (!due) break
      this.timers = this.timers.filter((x) => x !== due)
      this.t = due.at
      due.run()
    }
    this.t = end
    await settle()
  }
}

/** Lets every promise and socket event queued so far run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}
