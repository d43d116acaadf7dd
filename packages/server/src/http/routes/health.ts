/** `GET /api/v1/healthz`: a real write-and-read of the database; 503 when it fails. */
import { PulseError } from '@pulse/core'
import type { FastifyInstance } from 'fastify'
import type { Storage } from '../../storage/storage.ts'

/** How long the database probe may take before the server reports itself unhealthy. */
export const HEALTH_PROBE_TIMEOUT_MS = 2_000

/** Registers the health probe. */
export function registerHealthRoutes(app: FastifyInstance, storage: Storage): void {
  app.get('/api/v1/healthz', {
    config: { public: true },
    schema: {
      tags: ['health'],
      security: [],
      summary: 'Health probe: writes and reads a row in the database',
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            database: { type: 'object', properties: { kind: { type: 'string' }, ok: { type: 'boolean' }, latencyMs: { type: 'number' } } },
          },
        },
      },
    },
    handler: async () => {
      const started = performance.now()
      try {
        await storage.probe(AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS))
      } catch (e) {
        const reason = e instanceof PulseError ? e.message : 'the database did not answer a write and a read'
        throw new PulseError('database_unavailable', `unhealthy: ${reason}`)
      }
      return { status: 'ok', database: { kind: storage.kind, ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 } }
    },
  })
}
