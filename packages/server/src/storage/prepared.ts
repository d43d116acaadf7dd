/**
 * Typed queries that a write runs per record or per push, built and compiled with Kysely once
 * per dialect (and model table) and then run with new values: building and compiling a query
 * costs tens of µs, several times what running such a query costs on SQLite. A query takes its
 * values from `params`, stand-ins that become its parameters: it must use them as values only,
 * never branch on them.
 */
import type { ModelDefinition } from '@pulse/core'
import type { Compilable, CompiledQuery } from 'kysely'
import type { SqlSession } from './dialect.ts'

const PARAM = Symbol('parameter')
type StandIn = { readonly [PARAM]: string }
const isStandIn = (value: unknown): value is StandIn => typeof value === 'object' && value !== null && PARAM in value

/** Stand-ins for the fields of `P` (a proxy: any field read is one). */
const standIns = <P extends object>(): P => new Proxy({}, { get: (_, key) => ({ [PARAM]: String(key) }) }) as P

/** Runs a query compiled once per key and dialect (by `build`, on first use), with `params` in its stand-ins' places. */
function runner<R>() {
  const cache = new WeakMap<object, Map<string, CompiledQuery<R>>>()
  return async (s: SqlSession, key: object, params: object, build: () => Compilable<R>): Promise<R[]> => {
    let byDialect = cache.get(key)
    if (!byDialect) {
      byDialect = new Map()
      cache.set(key, byDialect)
    }
    let query = byDialect.get(s.dialect.name)
    if (!query) {
      query = build().compile()
      byDialect.set(s.dialect.name, query)
    }
    const parameters = query.parameters.map((p) => (isStandIn(p) ? (params as Record<string, unknown>)[p[PARAM]] : p))
    return (await s.connection.executeQuery<R>({ ...query, parameters })).rows
  }
}

/** A query on Pulse's own tables, compiled once per dialect. */
export function prepared<P extends object, R>(
  build: (s: SqlSession, params: P) => Compilable<R>,
): (s: SqlSession, params: P) => Promise<R[]> {
  const run = runner<R>()
  const key = {}
  return (s, params) => run(s, key, params, () => build(s, standIns<P>()))
}

/** A query on a model's table, compiled once per dialect and model. */
export function preparedOn<P extends object, R>(
  build: (s: SqlSession, model: ModelDefinition, params: P) => Compilable<R>,
): (s: SqlSession, model: ModelDefinition, params: P) => Promise<R[]> {
  const run = runner<R>()
  return (s, model, params) => run(s, model, params, () => build(s, model, standIns<P>()))
}
