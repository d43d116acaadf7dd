/**
 * Health probes. `GET /api/v1/healthz` is liveness: the process answers (no database, no lock,
 * nothing to slow it down). `GET /api/v1/readyz` is readiness: the database takes writes,
 * proven by a probe at most once every few seconds and by the server's real writes; 503 with
 * the last write error when it does not.
 */
import type { FastifyInstance } from 'fastify'
import type { Readiness } from '../readiness.ts'

const DATABASE = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    ok: { type: 'boolean' },
    latencyMs: { type: ['number', 'null'] },
    checkedAt: { type: 'string', format: 'date-time' },
  },
}
const LAST_WRITE_ERROR = {
  type: ['object', 'null'],
  properties: { at: { type: 'string', format: 'date-time' }, message: { type: 'string' } },
}

/** Registers the liveness and readiness probes. */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness): void {
  const startedAt = Date.now()
  app.get('/api/v1/healthz', {
    config: { public: true },
    schema: {
      tags: ['health'],
      security: [],
      summary: 'Liveness: the process answers (touches no database; see /api/v1/readyz)',
      response: { 200: { type: 'object', properties: { status: { type: 'string' }, uptimeSeconds: { type: 'number' } } } },
    },
    handler: async () => ({ status: 'ok', uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) }),
  })

  app.get('/api/v1/readyz', {
    config: { public: true },
    schema: {
      tags: ['health'],
      security: [],
      summary: 'Readiness: the database takes writes (probed at most every few seconds); 503 with the last write error when not',
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, database: DATABASE, lastWriteError: LAST_WRITE_ERROR } },
        503: {
          type: 'object',
          properties: {
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
            requestId: { type: 'string' },
            status: { type: 'string' },
            database: DATABASE,
            lastWriteError: LAST_WRITE_ERROR,
          },
        },
      },
    },
    handler: async (request, reply) => {
      const { ready, database, lastWriteError } = await readiness.check()
      if (ready) return { status: 'ready', database, lastWriteError }
      const why = lastWriteError?.message ?? 'the database did not take a write'
      // §7 body, plus what readiness knows.
      return reply.code(503).send({
        error: { code: 'database_unavailable', message: `not ready: ${why}` },
        requestId: request.id,
        status: 'unready',
        database,
        lastWriteError,
      })
    },
  })
}
