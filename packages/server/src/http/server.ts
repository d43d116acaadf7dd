/**
 * The HTTP server: fastify with the §7 error contract, request ids, pino logs, OpenAPI docs,
 * and one plugin per API area. Transport only: every route decodes, calls the engine, encodes.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { PulseError } from '@pulse/core'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Accounts } from '../accounts/accounts.ts'
import { type Actor, type Context, mayUseClientId, SYSTEM_ACTOR } from '../engine/context.ts'
import type { Engine } from '../engine/engine.ts'
import { type RealtimeOptions, registerRealtime } from '../realtime/socket.ts'
import type { Authenticator } from './authenticate.ts'
import { toErrorReply } from './error-body.ts'
import { fastifyLogger, type LoggerSettings } from './logger.ts'
import { requestIdFor } from './request-id.ts'
import { registerAccountRoutes } from './routes/accounts.ts'
import { registerAuthRoutes } from './routes/auth.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerModelRoutes } from './routes/models.ts'
import { registerSyncRoutes } from './routes/sync.ts'
import { originAllowed, registerSecurity } from './security.ts'
import { registerWebApp } from './static.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, once the request's credentials were checked (auth on). */
    pulseActor: Actor | null
  }
  interface FastifyContextConfig {
    /** The route needs no credentials. */
    public?: boolean
  }
}

/**
 * Query strings into objects without a prototype, keeping every key (`__proto__` included, so
 * routes can refuse it as an unknown parameter) and repeated keys as arrays.
 */
export function parseQueryString(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = out[key]
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return out
}

/** Largest request body accepted, in bytes, unless configured otherwise. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

/** What `createHttpServer` takes. */
export interface HttpServerOptions {
  engine: Engine
  /** Log level and format, or false for none (tests). Default: info level to stdout, pretty on a terminal. */
  logger?: boolean | LoggerSettings
  bodyLimitBytes?: number
  /**
   * Accounts and authentication (PROTOCOL.md §9): every `/api/` route but the public ones
   * (auth, health, docs) needs credentials. Absent, every request acts as the system: only for
   * tests, and for embedding behind a gateway that authenticates on its own.
   */
  auth?: { accounts: Accounts; authenticator: Authenticator }
  /** Browser origins allowed besides same-origin (CORS and WebSocket); `*` allows any. */
  allowedOrigins?: readonly string[]
  /** The version shown in the OpenAPI document. */
  version?: string
  /** Serves the WebSocket endpoint `/ws` (§6) with live changes from this bus; absent: no `/ws`. */
  realtime?: Omit<RealtimeOptions, 'engine'>
  /** The web apps' build served at `/` (default: apps/web/dist); `false` serves none. */
  webRoot?: string | false
}

/** Builds (does not start) the HTTP server. */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { engine } = options
  const app = Fastify({
    logger: fastifyLogger(options.logger),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: requestIdFor,
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true, querystringParser: parseQueryString },
    // Errors the router raises before any route (bad URL, over-long path segment) get §7 bodies too.
    frameworkErrors: (error, request, reply) => {
      const { status, body } = toErrorReply(error)
      return (reply as FastifyReply)
        .code(status)
        .header('x-request-id', request.id)
        .send({ ...body, requestId: request.id })
    },
  })
  const allowedOrigins = options.allowedOrigins ?? []
  app.decorateRequest('pulseActor', null)
  registerSecurity(app, allowedOrigins)
  // Validation is core's (one set of rules for every path); route schemas document and serialise.
  app.setValidatorCompiler(() => () => true)
  // Bodies are JSON only: anything else is 415, not a string handed to validation.
  app.removeContentTypeParser('text/plain')

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.setErrorHandler((error, request, reply) => {
    const { status, body, serverFault } = toErrorReply(error)
    if (serverFault) request.log.error({ err: error, code: body.error.code }, 'request failed')
    const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
    return reply
      .code(status)
      .header('x-request-id', request.id)
      .send({ ...body, requestId: request.id })
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }, requestId: request.id }),
  )

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pulse',
        description: 'Offline-first sync engine: REST API of the models and the sync protocol.',
        version: options.version ?? '0.1.0',
      },
      // §9: users send a JWT access token, services an API token; "Authorize" in the docs takes either.
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'access token from POST /api/auth/login, or an API token' },
          apiToken: { type: 'apiKey', in: 'header', name: 'x-auth-token' },
        },
      },
      ...(options.auth ? { security: [{ bearer: [] }, { apiToken: [] }] } : {}),
    },
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs' })
  app.get('/api/schema', { schema: { hide: true } }, async () => app.swagger())

  const { auth } = options
  if (auth) {
    // Credentials are checked before the body is read: an unauthenticated 10 MB upload costs nothing.
    app.addHook('onRequest', async (request) => {
      const path = request.url.split('?')[0] ?? ''
      if (!path.startsWith('/api/') || request.routeOptions.config?.public === true) return
      if (path.startsWith('/api/docs') || path === '/api/schema' || request.routeOptions.url === undefined) return
      request.pulseActor = await auth.authenticator.fromHeaders(request.headers)
    })
    registerAuthRoutes(app, auth.accounts)
  }
  const contextOf = (request: FastifyRequest): Context => {
    if (!auth) return { actor: SYSTEM_ACTOR, requestId: request.id }
    if (!request.pulseActor) throw new PulseError('unauthenticated', 'send credentials: Authorization: Bearer <token> or x-auth-token')
    return { actor: request.pulseActor, requestId: request.id }
  }
  if (auth) registerAccountRoutes(app, auth.accounts, contextOf)
  registerHealthRoutes(app, engine.storage)
  registerModelRoutes(app, { engine, contextOf })
  registerSyncRoutes(app, { engine, contextOf })
  await registerWebApp(app, options.webRoot)
  if (options.realtime) {
    const authenticate = auth
      ? async (token: string | undefined, clientId: string) => {
          const { actor, expiresAt } = await auth.authenticator.fromToken(token)
          // §9: a user's token is bound to one device, and that device is the clientId.
          if (!mayUseClientId(actor, clientId)) throw new PulseError('forbidden', 'clientId is not the device of your token')
          return {
            actor: actor.deviceId === null ? { ...actor, deviceId: clientId } : actor,
            ...(expiresAt !== undefined ? { expiresAt } : {}),
          }
        }
      : undefined
    await registerRealtime(app, {
      engine,
      ...(authenticate ? { authenticate } : {}),
      allowOrigin: (origin, host) => originAllowed(origin, host, allowedOrigins),
      ...options.realtime,
    })
  }
  return app
}
