/**
 * Starting a Pulse server: open the database, apply additive migrations, build the engine
 * and the HTTP server, listen. `pulse serve` is this plus argument parsing.
 */
import type { Schema } from '@pulse/core'
import type { FastifyInstance } from 'fastify'
import { createEngine, type Engine } from './engine/engine.ts'
import { createHttpServer } from './http/server.ts'
import { createStorage } from './storage/index.ts'
import type { Storage } from './storage/storage.ts'

/** What `startServer` takes. */
export interface StartOptions {
  schema: Schema
  /** A database URL: `postgres://…`, or a SQLite file path (`sqlite:./pulse.db`, `./pulse.db`). */
  database: string
  port: number
  host?: string
  logger?: boolean | { level: string }
  bodyLimitBytes?: number
}

/** A running server. */
export interface RunningServer {
  readonly app: FastifyInstance
  readonly engine: Engine
  readonly storage: Storage
  /** The base URL it listens on, e.g. `http://127.0.0.1:8000`. */
  readonly url: string
  close(): Promise<void>
}

/**
 * Opens the database, migrates it (additive steps only: a destructive one refuses to start,
 * naming `pulse migrate --allow-data-loss`), and listens. Cleans up what it opened if any
 * step fails.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const storage = await createStorage(options.database)
  let app: FastifyInstance | undefined
  try {
    await storage.migrate(options.schema)
    const engine = createEngine({ storage, schema: options.schema })
    app = await createHttpServer({
      engine,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    })
    const address = await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' })
    const running = app
    return {
      app: running,
      engine,
      storage,
      url: address.replace('[::1]', 'localhost'),
      async close() {
        await running.close()
        await storage.close()
      },
    }
  } catch (e) {
    await app?.close().catch(() => {})
    await storage.close().catch(() => {})
    throw e
  }
}
