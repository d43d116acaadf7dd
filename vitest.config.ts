import { defaultClientConditions, defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

/** The export condition that points a workspace package at its TypeScript sources (see each package.json). */
const SOURCE_CONDITION = '@pulse/source'

export default defineConfig({
  // Tests run on the sources: no build needed to see a change. Child `pulse` processes run the
  // build instead, which the global setup brings up to date first.
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/build-packages.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each PostgreSQL test file works in a schema of its own, so files may run in parallel.
  },
})
