/**
 * The JSON body parser: plain `JSON.parse` (which keeps a `__proto__` key as data, never as a
 * prototype), then a refusal of the keys that pollute prototypes once a body is merged into
 * another object — `__proto__` anywhere, `constructor` holding a `prototype` — naming the key
 * and where it is, rather than calling well-formed JSON malformed (PROTOCOL.md §7).
 */
import { PulseError } from '@pulse/core'
import type { FastifyInstance } from 'fastify'

/** Where a forbidden key sits in a parsed body (`mutations[0].data.__proto__`), or undefined when none does. */
export function forbiddenKeyPath(value: unknown): string | undefined {
  // Iterative: a body may nest as deep as JSON.parse allows.
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }]
  while (stack.length > 0) {
    const next = stack.pop() as { value: unknown; path: string }
    const v = next.value
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${next.path}[${i}]` })
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    for (const key of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[key]
      const path = next.path === '' ? key : `${next.path}.${key}`
      if (key === '__proto__') return path
      if (key === 'constructor' && typeof item === 'object' && item !== null && Object.hasOwn(item, 'prototype')) return `${path}.prototype`
      stack.push({ value: item, path })
    }
  }
  return undefined
}

/** Parses a JSON body; throws `invalid_json` when malformed, `bad_request` naming a forbidden key. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new PulseError('invalid_json', 'the body is empty; send a JSON object')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new PulseError('invalid_json', 'the body is not well-formed JSON')
  }
  const path = forbiddenKeyPath(value)
  if (path !== undefined) {
    const key = path.endsWith('.prototype') ? 'constructor.prototype' : '__proto__'
    throw new PulseError('bad_request', `the body uses the forbidden key "${key}" (at ${path.slice(0, 200)})`, [
      { field: path.slice(0, 200), code: 'forbidden_key', message: `"${key}" is refused: it would reach an object's prototype` },
    ])
  }
  return value
}

/** Replaces fastify's JSON parser with `parseJsonBody` (same body limit). */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string))
    } catch (e) {
      done(e as Error, undefined)
    }
  })
}
