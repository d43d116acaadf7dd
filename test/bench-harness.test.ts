/**
 * The benchmark harness itself (issue 12): `npm run bench -- --quick --json out.json <bench>`
 * runs the baselines the bench needs and the bench, each in its own process, and writes every
 * figure joined with its baseline from the same run. Runs the reconnect storm at a tiny size
 * (20 clients, 200 changes, PostgreSQL not needed) and checks the shape of the output and what
 * is not a timing (every client caught up); never a timing itself.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BenchReport } from '../bench/run.ts'

const ROOT = join(import.meta.dirname, '..')

describe('npm run bench', () => {
  it('runs a bench and its baselines in their own processes and writes the figures with their ratios (--json)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pulse-bench-test-')), 'out.json')
    const run = spawnSync(
      process.execPath,
      ['--conditions=@pulse/source', '--import', 'tsx', 'bench/run.ts', '--quick', '--json', out, 'reconnect-storm:20,200'],
      { cwd: ROOT, encoding: 'utf8', timeout: 150_000 },
    )
    expect(run.status, run.stderr).toBe(0)
    // The printed table names every figure.
    expect(run.stdout).toContain('All figures')
    expect(run.stdout).toContain('reconnect storm: clients caught up')
    expect(run.stdout).toMatch(/warm-up \(not measured\)/)

    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport
    expect(report.quick).toBe(true)
    expect(report.machine.cpus).toBeGreaterThan(0)
    expect(report.runs.map((r) => [r.bench, r.ok])).toEqual([
      ['baselines', true],
      ['reconnect-storm', true],
    ])
    expect(report.runs[1]?.args).toEqual(['20', '200'])
    const baseline = report.baselines.find((b) => b.name === 'sqlite-indexed-read')
    expect(baseline).toMatchObject({ baseline: true, unit: 'rows/s' })
    expect(baseline?.figure).toBeGreaterThan(0)

    const byPath = new Map(report.figures.map((f) => [f.path, f]))
    expect([...byPath.keys()].sort()).toEqual([
      'reconnect storm: changes delivered/s',
      'reconnect storm: clients caught up',
      'reconnect storm: healthz p99 during the storm',
      'reconnect storm: time to quiescence',
    ])
    for (const f of report.figures) {
      expect(f.bench).toBe('reconnect-storm')
      expect(Number.isFinite(f.figure)).toBe(true)
      expect(['higher', 'lower']).toContain(f.better)
      expect(typeof f.unit).toBe('string')
    }
    // Every client caught up with every change it was behind: a count, not a timing.
    expect(byPath.get('reconnect storm: clients caught up')).toMatchObject({ figure: 20, aim: 20, aimMet: true })
    // A figure naming a baseline measured by another process is joined with it, ratio computed.
    const delivered = byPath.get('reconnect storm: changes delivered/s')
    expect(delivered?.baselineName).toBe('sqlite-indexed-read')
    expect(delivered?.baseline).toBe(baseline?.figure)
    expect(delivered?.ratio).toBeCloseTo((delivered?.figure ?? 0) / (baseline?.figure ?? 1), 9)
    // A baseline the bench measured itself carries its own ratio.
    const health = byPath.get('reconnect storm: healthz p99 during the storm')
    expect(health?.baselineName).toBe('healthz p99 idle')
    expect(health?.ratio).toBeCloseTo((health?.figure ?? 0) / (health?.baseline ?? 1), 9)
  }, 180_000)
})
