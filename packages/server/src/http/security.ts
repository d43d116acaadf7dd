/**
 * Security headers on every response, and CORS for the configured origins. A
 * browser on another origin may call the API only when its origin is listed; same-origin
 * pages (the web apps Pulse serves) need no listing.
 */
import type { FastifyInstance } from 'fastify'

/** Headers a browser may send cross-origin, and ones it may read. */
const ALLOW_HEADERS = 'authorization, content-type, if-match, x-request-id, x-auth-token'
const EXPOSE_HEADERS = 'x-request-id, etag, location, retry-after'
const ALLOW_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS'

/** True when a browser page at `origin` may use this server: listed, or the same origin. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true // not a browser, or same-origin GET
  if (allowed.includes('*') || allowed.includes(origin)) return true
  try {
    return host !== undefined && new URL(origin).host === host
  } catch {
    return false
  }
}

/** Adds security headers and CORS handling to every route. */
export function registerSecurity(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('x-frame-options', 'DENY')
    reply.header('referrer-policy', 'no-referrer')
    const origin = request.headers.origin
    if (origin !== undefined && originAllowed(origin, request.headers.host, allowedOrigins)) {
      reply.header('access-control-allow-origin', origin)
      reply.header('access-control-expose-headers', EXPOSE_HEADERS)
      reply.header('vary', 'Origin')
    }
  })
  app.addHook('onSend', async (request, reply, payload) => {
    // API answers are data, never pages: nothing in them may run or be framed.
    if (request.url.startsWith('/api/') && !request.url.startsWith('/api/docs')) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    }
    return payload
  })
  app.options('/*', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const origin = request.headers.origin
    if (!originAllowed(origin, request.headers.host, allowedOrigins) || origin === undefined) {
      return reply.code(403).send({ error: { code: 'forbidden', message: 'this origin may not use the API' }, requestId: request.id })
    }
    return reply
      .code(204)
      .header('access-control-allow-methods', ALLOW_METHODS)
      .header('access-control-allow-headers', ALLOW_HEADERS)
      .header('access-control-max-age', '600')
      .send()
  })
}
