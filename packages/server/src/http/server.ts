/**
 * The HTTP server: fastify with the §7 error contract, request ids, pino logs, OpenAPI docs,
 * and one plugin per API area. Transport only: every route decodes, calls the engine, encodes.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { PulseError } from '@pulse/core'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import type { Accounts } from '../accounts/accounts.ts'
import { type Actor, type Context, mayUseClientId, SYSTEM_ACTOR } from '../engine/context.ts'
import type { Engine } from '../engine/engine.ts'
import { type RealtimeOptions, registerRealtime } from '../realtime/socket.ts'
import type { Authenticator } from './authenticate.ts'
import {
  answerClientError,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  type HttpTimeouts,
  limitConnectionsPerAddress,
  timeoutOptions,
} from './connection-limits.ts'
import { toErrorReply } from './error-body.ts'
import { registerJsonBodyParser } from './json-body.ts'
import { fastifyLogger, type LoggerSettings } from './logger.ts'
import { createReadiness, type Readiness } from './readiness.ts'
import { requestIdFor } from './request-id.ts'
import { registerAccountRoutes } from './routes/accounts.ts'
import { registerAuthRoutes } from './routes/auth.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerModelRoutes } from './routes/models.ts'
import { registerOrgRoutes } from './routes/orgs.ts'
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
  /** Whether the demo pages (`/demo/*`, which sign up a demo user) are served (default true; production: false). */
  demoPages?: boolean
  /** Whether `/api/docs` (Swagger UI) and `/api/schema` (OpenAPI) are served (default true; production: false). */
  docs?: boolean
  /**
   * Which proxies to believe about the client's address (Fastify's `trustProxy`): `true` any,
   * or addresses/CIDRs (an array, or a comma-separated string). Default none: the address is the socket's peer, and
   * `X-Forwarded-For` is ignored (a client could otherwise pick its own address for the login
   * throttle).
   */
  trustProxy?: boolean | string | string[]
  /** Request, header, idle and keep-alive timeouts (defaults: 30 s, 10 s, 60 s, 72 s). */
  timeouts?: HttpTimeouts
  /** Connections one address may hold open (default 256; 0: no cap). Behind a proxy, raise it. */
  maxConnectionsPerAddress?: number
  /** What `/api/v1/readyz` reports (default: probes of the engine's storage only). */
  readiness?: Readiness
}

/** Builds (does not start) the HTTP server. */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { engine } = options
  const app = Fastify({
    logger: fastifyLogger(options.logger),
    // One line per request, once answered (below), not Fastify's two (issue 12: logs cost).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: requestIdFor,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: false,
    // While closing, requests arriving on connections still open get a §7 503 (below), not Fastify's body.
    return503OnClosing: false,
    ...timeoutOptions(options.timeouts),
    // A request that times out or cannot be parsed gets a §7 body too, then the socket closes.
    clientErrorHandler: answerClientError,
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
  limitConnectionsPerAddress(app.server, options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)
  const allowedOrigins = options.allowedOrigins ?? []
  app.decorateRequest('pulseActor', null)
  registerSecurity(app, allowedOrigins)
  // Validation is core's (one set of rules for every path); route schemas document and serialise.
  app.setValidatorCompiler(() => () => true)
  // Bodies are JSON only: anything else is 415, not a string handed to validation.
  app.removeContentTypeParser('text/plain')
  // JSON bodies: prototype-polluting keys are refused by name (§7), not as malformed JSON.
  registerJsonBodyParser(app)

  // Set when closing starts (Fastify then answers with Connection: close): in-flight requests
  // finish, new ones on connections still open (pipelined, keep-alive) are refused at once.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) throw new PulseError('shutting_down', 'the server is shutting down: retry (another process, or this one once it is back)')
    // Arrivals only at debug level (a no-op otherwise): a request is logged once, when answered.
    request.log.debug({ method: request.method, url: request.url }, 'request arrived')
  })
  if (options.logger !== false) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      )
    })
  }
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
  if (options.docs !== false) {
    await app.register(swaggerUi, { routePrefix: '/api/docs' })
    app.get('/api/schema', { schema: { hide: true } }, async () => app.swagger())
  }

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
  if (auth) {
    registerAccountRoutes(app, auth.accounts, contextOf)
    registerOrgRoutes(app, auth.accounts, contextOf)
  }
  registerHealthRoutes(app, options.readiness ?? createReadiness(engine.storage))
  registerModelRoutes(app, { engine, contextOf })
  registerSyncRoutes(app, { engine, contextOf })
  await registerWebApp(app, options.webRoot, { demoPages: options.demoPages !== false })
  if (options.realtime) {
    const authenticate = auth
      ? async (token: string | undefined, clientId: string) => {
          const { actor, expiresAt, credential } = await auth.authenticator.fromToken(token)
          // §9: a user's token is bound to one device, and that device is the clientId.
          if (!mayUseClientId(actor, clientId)) throw new PulseError('forbidden', 'clientId is not the device of your token')
          const onDevice = (a: Actor): Actor => (a.deviceId === null ? { ...a, deviceId: clientId } : a)
          return {
            actor: onDevice(actor),
            ...(expiresAt !== undefined ? { expiresAt } : {}),
            // Each push and pull of the socket is authorised with the actor as it stands then.
            reload: async () => onDevice(await auth.authenticator.reload(credential)),
            ...(credential.kind === 'api' ? { apiTokenId: credential.tokenId } : {}),
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
