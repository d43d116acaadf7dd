/**
 * The lockfile is complete for every platform npm supports: each package's optional
 * dependencies (the platform binaries of Biome, esbuild, Rolldown, Lightning CSS…) have entries,
 * or `npm ci` on another platform fails ("Missing: @biomejs/cli-darwin-arm64 from lock file").
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './support/cli.ts'

interface LockEntry {
  optionalDependencies?: Record<string, string>
}

describe('package-lock.json', () => {
  it('has an entry for every optional dependency of every package, on every platform', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
    const paths = new Set(Object.keys(lock.packages))
    // npm resolves a dependency in the package's own node_modules, then each folder above it.
    const resolves = (from: string, name: string) => {
      for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
        if (paths.has(`${at ? `${at}/` : ''}node_modules/${name}`)) return true
        if (!at) return false
      }
    }
    const missing = Object.entries(lock.packages).flatMap(([path, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((name) => !resolves(path, name))
        .map((name) => `${name} (optional dependency of ${path || 'the root'})`),
    )
    expect(missing).toEqual([])
    // The check sees the platform packages at all.
    expect(paths.has('node_modules/@biomejs/cli-darwin-arm64')).toBe(true)
  })
})
