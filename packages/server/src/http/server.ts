/**
 * The HTTP server: fastify with the §7 error contract, request ids, pino logs, OpenAPI docs,
 * and one plugin per API area. Transport only: every route decodes, calls the engine, encodes.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { type Context, SYSTEM_ACTOR } from '../engine/context.ts'
import type { Engine } from '../engine/engine.ts'
import { type RealtimeOptions, registerRealtime } from '../realtime/socket.ts'
import { toErrorReply } from './error-body.ts'
import { requestIdFor } from './request-id.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerModelRoutes } from './routes/models.ts'
import { registerSyncRoutes } from './routes/sync.ts'

/** Largest request body accepted, in bytes, unless configured otherwise. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

/** What `createHttpServer` takes. */
export interface HttpServerOptions {
  engine: Engine
  /** pino logger options, or false for none (tests). Default: info level to stdout. */
  logger?: boolean | { level: string }
  bodyLimitBytes?: number
  /** The engine context of a request. Default: the system actor (until accounts exist). */
  contextOf?: (request: FastifyRequest) => Context
  /** The version shown in the OpenAPI document. */
  version?: string
  /** Serves the WebSocket endpoint `/ws` (§6) with live changes from this bus; absent: no `/ws`. */
  realtime?: Omit<RealtimeOptions, 'engine'>
}

/** Builds (does not start) the HTTP server. */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { engine } = options
  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: requestIdFor,
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  })
  // Validation is core's (one set of rules for every path); route schemas document and serialise.
  app.setValidatorCompiler(() => () => true)

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.setErrorHandler((error, request, reply) => {
    const { status, body, serverFault } = toErrorReply(error)
    if (serverFault) request.log.error({ err: error, code: body.error.code }, 'request failed')
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
    },
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs' })
  app.get('/api/schema', { schema: { hide: true } }, async () => app.swagger())

  const contextOf = options.contextOf ?? ((request: FastifyRequest): Context => ({ actor: SYSTEM_ACTOR, requestId: request.id }))
  registerHealthRoutes(app, engine.storage)
  registerModelRoutes(app, { engine, contextOf })
  registerSyncRoutes(app, { engine, contextOf })
  if (options.realtime) await registerRealtime(app, { engine, ...options.realtime })
  return app
}
