/**
 * Starting a Pulse server: open the database, apply additive migrations, build the engine,
 * the bus and the HTTP server (REST, sync, WebSocket), listen. `pulse serve` is this plus
 * argument parsing.
 */
import type { Schema } from '@pulse/core'
import type { FastifyInstance } from 'fastify'
import { type Accounts, createAccounts } from './accounts/accounts.ts'
import { createAccessTokens } from './auth/access-tokens.ts'
import { resolveSecret } from './auth/secret.ts'
import type { Bus } from './bus/bus.ts'
import { createMemoryBus } from './bus/memory-bus.ts'
import { publishCommits } from './bus/publish-commits.ts'
import { createRedisBus } from './bus/redis-bus.ts'
import { createEngine, type Engine } from './engine/engine.ts'
import { createAuthenticator } from './http/authenticate.ts'
import type { LoggerSettings } from './http/logger.ts'
import { createHttpServer } from './http/server.ts'
import type { RealtimeOptions } from './realtime/socket.ts'
import { createStorage } from './storage/index.ts'
import type { Storage } from './storage/storage.ts'

/** How long `close()` waits for in-flight requests unless configured otherwise. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/** What `startServer` takes. */
export interface StartOptions {
  schema: Schema
  /**
   * A database URL (`postgres://…`, or a SQLite file: `sqlite:./pulse.db`, `./pulse.db`), or an
   * open Storage, which the server then owns and closes.
   */
  database: string | Storage
  port: number
  host?: string
  /** Logs: false for none; default info level, pretty on a terminal and JSON lines otherwise. */
  logger?: boolean | LoggerSettings
  bodyLimitBytes?: number
  /**
   * How commits reach the live streams of every process: a Redis URL (`redis://…`, for several
   * processes), an open Bus (which the server then owns and closes), or absent: in-process.
   */
  bus?: string | Bus
  /** WebSocket settings (hello timeout, limits). */
  realtime?: Omit<RealtimeOptions, 'engine' | 'bus'>
  /**
   * Accounts and authentication (§9), on by default. `false` makes every caller the system
   * actor: only for tests, and for embedding behind a gateway that authenticates on its own.
   */
  auth?: false | AuthOptions
  /** Browser origins allowed besides same-origin (CORS and WebSocket). */
  allowedOrigins?: readonly string[]
  /**
   * How long `close()` lets in-flight requests finish before it cuts their connections
   * (default 10 s). New requests are refused (503) from the moment it is called.
   */
  shutdownTimeoutMs?: number
}

/** Authentication settings. */
export interface AuthOptions {
  /** The signing key (PULSE_SECRET). Absent: generated and kept in `secretFile` — refused in production. */
  secret?: string
  /** Production refuses to run without a configured secret. */
  production?: boolean
  /** Where a development secret is kept (default `.pulse/secret` in the working directory). */
  secretFile?: string
  /** Whether anyone may sign up (default true). */
  allowRegistration?: boolean
  /** Access token lifetime (default 15 minutes). */
  accessTtlSeconds?: number
  /** Requests per second one token may make (default 200). */
  tokenRatePerSecond?: number
  /** Refresh token lifetime in days (default 30). */
  refreshTtlDays?: number
  /** Failed logins allowed per account in 15 minutes (default 10). */
  loginLimitPerAccount?: number
  /** Failed logins allowed per client address in 15 minutes (default 100). */
  loginLimitPerAddress?: number
}

/** A running server. */
export interface RunningServer {
  readonly app: FastifyInstance
  readonly engine: Engine
  readonly storage: Storage
  readonly bus: Bus
  /** The accounts service, unless auth is off. */
  readonly accounts: Accounts | undefined
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
  const storage = typeof options.database === 'string' ? await createStorage(options.database) : options.database
  let app: FastifyInstance | undefined
  let bus: Bus | undefined
  // Background failures go to the server's log once it exists, to stderr before.
  const logError = (what: string) => (err: unknown) => (app ? app.log.error({ err }, what) : console.error(`pulse: ${what}`, err))
  try {
    await storage.migrate(options.schema)
    const authOptions = options.auth === false ? undefined : (options.auth ?? {})
    let accounts: Accounts | undefined
    if (authOptions) {
      const key = resolveSecret({
        secret: authOptions.secret,
        production: authOptions.production === true,
        file: authOptions.secretFile ?? '.pulse/secret',
      })
      accounts = createAccounts({
        storage,
        tokens: createAccessTokens(key, authOptions.accessTtlSeconds),
        allowRegistration: authOptions.allowRegistration ?? true,
        ...(authOptions.refreshTtlDays !== undefined ? { refreshTtlDays: authOptions.refreshTtlDays } : {}),
        ...(authOptions.loginLimitPerAccount !== undefined ? { loginLimitPerAccount: authOptions.loginLimitPerAccount } : {}),
        ...(authOptions.loginLimitPerAddress !== undefined ? { loginLimitPerAddress: authOptions.loginLimitPerAddress } : {}),
      })
      await accounts.migrate()
    }
    const engine = createEngine({ storage, schema: options.schema, onError: logError('a commit listener failed') })
    bus =
      typeof options.bus === 'string'
        ? await createRedisBus(options.bus, { onError: logError('redis bus') })
        : (options.bus ?? createMemoryBus({ onError: logError('bus subscriber failed') }))
    app = await createHttpServer({
      engine,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
      realtime: { ...options.realtime, bus },
      ...(accounts
        ? {
            auth: {
              accounts,
              authenticator: createAuthenticator(accounts, {
                ...(authOptions?.tokenRatePerSecond ? { tokenRatePerSecond: authOptions.tokenRatePerSecond } : {}),
              }),
            },
          }
        : {}),
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    })
    // Live changes reach every process, this one included, only through the bus.
    publishCommits(engine, bus, logError('publishing a commit failed'))
    const address = await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' })
    const running = app
    const runningBus = bus
    const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
    return {
      app: running,
      engine,
      storage,
      bus: runningBus,
      accounts,
      url: address.replace('[::1]', 'localhost'),
      async close() {
        // Graceful: fastify stops accepting and waits for in-flight requests; a keep-alive
        // connection closes as soon as its last response is sent; past the deadline the rest
        // are cut, so a stuck client cannot hold the process forever.
        running.server.keepAliveTimeout = 1
        const deadline = setTimeout(() => {
          running.log.warn(`shutdown: requests still running after ${shutdownTimeoutMs} ms; closing their connections`)
          running.server.closeAllConnections()
        }, shutdownTimeoutMs)
        try {
          await running.close()
        } finally {
          clearTimeout(deadline)
        }
        await runningBus.close()
        await storage.close()
      },
    }
  } catch (e) {
    await app?.close().catch(() => {})
    await bus?.close().catch(() => {})
    await storage.close().catch(() => {})
    throw e
  }
}
