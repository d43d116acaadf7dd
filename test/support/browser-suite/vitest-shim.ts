/**
 * Just enough of vitest's API (`describe`, `it`, `expect`) to run a conformance suite inside a
 * browser page: esbuild bundles the suite with `vitest` aliased to this file. Tests are
 * collected as `describe`/`it` are called, then `runCollected` runs them one at a time and
 * reports each outcome. `expect` is vitest's own (chai with vitest's matchers).
 */
import { chai, JestAsymmetricMatchers, JestChaiExpect, JestExtend } from '@vitest/expect'

chai.use(JestExtend)
chai.use(JestChaiExpect)
chai.use(JestAsymmetricMatchers)

/** vitest's `expect`, without the test-runner state it keeps in Node. */
export const expect = (value: unknown, message?: string) => chai.expect(value, message)

type TestFn = () => unknown

/** One test's outcome, as the page reports it. */
export interface SuiteResult {
  name: string
  ok: boolean
  error?: string
  ms: number
}

const tests: { name: string; fn: TestFn }[] = []
const prefixes: string[] = []

/** Groups tests under a name. */
export function describe(name: string, body: () => void): void {
  prefixes.push(name)
  try {
    body()
  } finally {
    prefixes.pop()
  }
}

/** Collects a test. */
export function it(name: string, fn: TestFn): void {
  tests.push({ name: [...prefixes, name].join(' > '), fn })
}

export const test = it

/** Runs every collected test in order; never rejects. */
export async function runCollected(): Promise<SuiteResult[]> {
  const results: SuiteResult[] = []
  for (const { name, fn } of tests) {
    const started = performance.now()
    try {
      await fn()
      results.push({ name, ok: true, ms: performance.now() - started })
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      results.push({ name, ok: false, error: text, ms: performance.now() - started })
    }
  }
  return results
}
