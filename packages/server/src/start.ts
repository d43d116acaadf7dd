/**
 * Starting a Pulse server: open the database, apply additive migrations, build the engine,
 * the bus and the HTTP server (REST, sync, WebSocket), listen. `pulse serve` is this plus
 * argument parsing.
 */
import type { Schema } from '@pulse/core'
import type { FastifyInstance } from 'fastify'
import { type Accounts, createAccounts } from './accounts/accounts.ts'
import type { LoginThrottleOptions } from './accounts/login-throttle.ts'
import { createAccessTokens } from './auth/access-tokens.ts'
import { resolveSecret } from './auth/secret.ts'
import type { Bus } from './bus/bus.ts'
import { createMemoryBus } from './bus/memory-bus.ts'
import { publishCommits } from './bus/publish-commits.ts'
import { createRedisBus } from './bus/redis-bus.ts'
import { createEngine, type Engine } from './engine/engine.ts'
import { createAuthenticator } from './http/authenticate.ts'
import type { HttpTimeouts } from './http/connection-limits.ts'
import type { LoggerSettings } from './http/logger.ts'
import { createReadiness, observeWrites } from './http/readiness.ts'
import { createHttpServer } from './http/server.ts'
import type { RealtimeOptions } from './realtime/socket.ts'
import { createStorage } from './storage/index.ts'
import type { SqlStorage } from './storage/storage.ts'

/** How long `close()` waits for in-flight requests unless configured otherwise. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/** What `startServer` takes. */
export interface StartOptions {
  schema: Schema
  /**
   * A database URL (`postgres://…`, or a SQLite file: `sqlite:./pulse.db`, `./pulse.db`), or an
   * open Storage, which the server then owns and closes.
   */
  database: string | SqlStorage
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
   * Which proxies to believe about the client's address (`X-Forwarded-For`), as Fastify's
   * `trustProxy`: `true`, or addresses/CIDRs (`'10.0.0.0/8,127.0.0.1'`). Default none. Set it behind a load
   * balancer, or every login is throttled as coming from the balancer.
   */
  trustProxy?: boolean | string | string[]
  /** Serve `/api/docs` and `/api/schema` (default: true, false in production). */
  docs?: boolean
  /** Serve the demo pages `/demo/*` (default: true, false in production). */
  demoPages?: boolean
  /** HTTP timeouts: request 30 s, headers 10 s, idle 60 s, keep-alive 72 s by default (README "Limits"). */
  timeouts?: HttpTimeouts
  /** Connections one address may hold open (default 256; 0 lifts the cap). Behind a proxy, raise it. */
  maxConnectionsPerAddress?: number
  /** Largest page of a pull, list, catch-up or live message in bytes of records (default 4 MiB). */
  maxPageBytes?: number
  /** Bytes of pull and list pages being loaded and sent at once, across all callers (default 32 MiB). */
  maxPullBytesInFlight?: number
  /** Bytes of encoded changes kept so pulls serialise each change once (default 64 MiB; 0: none). */
  wireCacheBytes?: number
  /** `/api/v1/readyz` probes the database at most this often (default 5 s). */
  readyProbeIntervalMs?: number
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
  /**
   * Production (default: `NODE_ENV=production`): refuses a missing or weak secret, closes
   * sign-up unless `allowRegistration` is set, and serves neither the demo pages nor the docs
   * unless `StartOptions.demoPages` / `docs` say so.
   */
  production?: boolean
  /** Where a development secret is kept (default `.pulse/secret` in the working directory). */
  secretFile?: string
  /** Whether anyone may sign up (default true; false in production). */
  allowRegistration?: boolean
  /** Access token lifetime (default 15 minutes). */
  accessTtlSeconds?: number
  /** Requests per second one device may make, over all its access tokens (default 200). */
  tokenRatePerSecond?: number
  /** Requests per second one API token may make (default 20,000: services write in bulk through one token). */
  apiTokenRatePerSecond?: number
  /** Devices one user may register (default 100). */
  maxDevicesPerUser?: number
  /** How failed logins are slowed: free attempts, longest delay, failures per address. */
  loginThrottle?: LoginThrottleOptions
  /** Whether a server admin may add members without an invitation (default true). */
  directMemberAdd?: boolean
  /** Pending invitations per organization (default 1000). */
  maxPendingInvitations?: number
  /** Refresh token lifetime in days (default 30). */
  refreshTtlDays?: number
}

/** A running server. */
export interface RunningServer {
  readonly app: FastifyInstance
  readonly engine: Engine
  readonly storage: SqlStorage
  readonly bus: Bus
  /** The accounts service, unless auth is off. */
  readonly accounts: Accounts | undefined
  /** The base URL it listens on, e.g. `http://127.0.0.1:8000`. */
  readonly url: string
  close(): Promise<void>
}

/** The options among `keys` that are set (exactOptionalPropertyTypes refuses explicit undefined). */
function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {}
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k] as Exclude<T[K], undefined>
  return out
}

/**
 * Opens the database, migrates it (additive steps only: a destructive one refuses to start,
 * naming `pulse migrate --allow-data-loss`), and listens. Cleans up what it opened if any
 * step fails.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const opened = typeof options.database === 'string' ? await createStorage(options.database) : options.database
  // Readiness hears how every real write went: a database refusing writes is not ready.
  const readiness = createReadiness(
    opened,
    options.readyProbeIntervalMs !== undefined ? { probeIntervalMs: options.readyProbeIntervalMs } : {},
  )
  const storage = observeWrites(opened, readiness)
  let app: FastifyInstance | undefined
  let bus: Bus | undefined
  // Background failures go to the server's log once it exists, to stderr before.
  const logError = (what: string) => (err: unknown) => (app ? app.log.error({ err }, what) : console.error(`pulse: ${what}`, err))
  try {
    await storage.migrate(options.schema)
    const authOptions = options.auth === false ? undefined : (options.auth ?? {})
    const production = authOptions?.production ?? process.env.NODE_ENV === 'production'
    bus =
      typeof options.bus === 'string'
        ? await createRedisBus(options.bus, { onError: logError('redis bus') })
        : (options.bus ?? createMemoryBus({ onError: logError('bus subscriber failed') }))
    const controlBus = bus
    let accounts: Accounts | undefined
    if (authOptions) {
      const key = resolveSecret({ secret: authOptions.secret, production, file: authOptions.secretFile ?? '.pulse/secret' })
      accounts = createAccounts({
        storage,
        tokens: createAccessTokens(key, authOptions.accessTtlSeconds),
        // Production opens sign-up only when told to.
        allowRegistration: authOptions.allowRegistration ?? !production,
        ...pick(authOptions, ['maxDevicesPerUser', 'loginThrottle', 'directMemberAdd', 'maxPendingInvitations', 'refreshTtlDays']),
        // Memberships, logouts and revocations reach every process's sockets at once.
        announce: (message) => controlBus.publishControl(message),
        onError: logError('accounts'),
      })
      // Credentials this process keeps read (API tokens) are forgotten as soon as another
      // process announces their revocation.
      const heard = accounts
      controlBus.subscribeControl((message) => heard.heardControl(message))
      const report = await accounts.migrate()
      if (report.caseDuplicates.length > 0)
        console.warn(
          `pulse: usernames that differ only in case exist (${report.caseDuplicates.join(', ')}): logins prefer the exact spelling; ` +
            'rename one of each pair to have usernames enforced unique regardless of case',
        )
    }
    const engine = createEngine({
      storage,
      schema: options.schema,
      accounts: accounts !== undefined,
      onError: logError('a commit listener failed'),
      ...(options.maxPageBytes !== undefined ? { maxPageBytes: options.maxPageBytes } : {}),
      ...(options.maxPullBytesInFlight !== undefined ? { maxPullBytesInFlight: options.maxPullBytesInFlight } : {}),
      ...(options.wireCacheBytes !== undefined ? { wireCacheBytes: options.wireCacheBytes } : {}),
    })
    app = await createHttpServer({
      engine,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
      realtime: { ...(options.maxPageBytes !== undefined ? { maxMessageBytes: options.maxPageBytes } : {}), ...options.realtime, bus },
      readiness,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      ...(options.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress } : {}),
      ...(accounts
        ? {
            auth: {
              accounts,
              authenticator: createAuthenticator(accounts, pick(authOptions ?? {}, ['tokenRatePerSecond', 'apiTokenRatePerSecond'])),
            },
          }
        : {}),
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
      docs: options.docs ?? !production,
      demoPages: options.demoPages ?? !production,
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
    // The start-up failure is what the caller hears; a failure to clean up after it is logged.
    await app?.close().catch(logError('closing the HTTP server after a failed start'))
    await bus?.close().catch(logError('closing the bus after a failed start'))
    await storage.close().catch(logError('closing the storage after a failed start'))
    throw e
  }
}
