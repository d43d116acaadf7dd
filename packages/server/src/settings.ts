/**
 * Every server setting, in one table. A setting's name is its place in `StartOptions`
 * (`auth.accessTtlSeconds` is `startServer({ auth: { accessTtlSeconds } })`) and under `server`
 * in `pulse.config.ts`; each row gives its kind of value, default, environment variable and flag.
 * Adding a setting is one row here (and one in the README's table, which a test compares): the
 * config file's type, the validation at start-up, the environment, the flags of `pulse serve`
 * and its `--help` all follow from it. The type check below refuses a row whose name is not a
 * StartOptions field or whose value does not fit it.
 */

import { DEFAULT_MAX_PENDING_INVITATIONS } from './accounts/invitations.ts'
import { DEFAULT_LOGIN_THROTTLE } from './accounts/login-throttle.ts'
import { DEFAULT_MAX_DEVICES_PER_USER } from './accounts/sessions.ts'
import { DEFAULT_ACCESS_TTL_SECONDS } from './auth/access-tokens.ts'
import { DEFAULT_MAX_PULL_BYTES_IN_FLIGHT } from './engine/engine.ts'
import { DEFAULT_MAX_PAGE_BYTES } from './engine/pull.ts'
import { DEFAULT_API_TOKEN_RATE_PER_SECOND, DEFAULT_TOKEN_RATE_PER_SECOND } from './http/authenticate.ts'
import { DEFAULT_HTTP_TIMEOUTS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from './http/connection-limits.ts'
import { DEFAULT_PROBE_INTERVAL_MS } from './http/readiness.ts'
import { DEFAULT_BODY_LIMIT_BYTES } from './http/server.ts'
import { DEFAULT_GAP_WAIT_MS } from './realtime/commit-order.ts'
import { DEFAULT_MAX_BUFFERED_BYTES } from './realtime/fan-out.ts'
import { DEFAULT_MAX_SOCKET_BUFFER_BYTES } from './realtime/flow-control.ts'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './realtime/heartbeat.ts'
import { DEFAULT_RATE_LIMIT } from './realtime/rate-limit.ts'
import { DEFAULT_HELLO_TIMEOUT_MS } from './realtime/session.ts'
import { DEFAULT_MAX_FRAME_BYTES } from './realtime/socket.ts'
import { boolean, integer, list, oneOf, productionFlag, proxies, type SettingType, text, type ValueOf } from './settings-types.ts'
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type StartOptions } from './start.ts'

/** One setting: its kind of value, default, and where else it may be set. */
export interface SettingSpec<T> {
  readonly type: SettingType<T>
  /** Used when nothing sets it; undefined: unset (the server decides, e.g. no Redis). */
  readonly default: NoInfer<T> | undefined
  /** The environment variable that sets it (overrides the config file). */
  readonly env?: string
  /**
   * The `pulse serve` flag that sets it (overrides the environment), in commander's syntax:
   * `--port <port>`; a boolean's flag has no argument and also gets its `--no-` form.
   */
  readonly flag?: string
  /** One line for `--help` and the README. */
  readonly description: string
  /** Never shown (the signing key). */
  readonly secret?: boolean
}

/** A row; its type keeps whether it has a default (`SETTINGS.port.default` is a number, not number | undefined). */
function setting<T, D extends NoInfer<T> | undefined>(
  spec: SettingSpec<T> & { readonly default: D },
): SettingSpec<T> & { readonly default: D } {
  return spec
}

const MIB = 1024 * 1024
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The table. Order is the order of `--help` and the README. */
export const SETTINGS = {
  port: setting({ type: integer(0, 65535), default: 8000, env: 'PORT', flag: '-p, --port <port>', description: 'port to listen on' }),
  host: setting({ type: text(255), default: '127.0.0.1', env: 'HOST', flag: '--host <host>', description: 'address to listen on' }),
  database: setting({
    type: text(),
    default: 'sqlite:./pulse.db',
    env: 'DATABASE_URL',
    flag: '-d, --database <url>',
    description: 'postgres://… or a SQLite file',
  }),
  bus: setting({
    type: text(),
    default: undefined,
    env: 'REDIS_URL',
    flag: '--redis <url>',
    description: 'redis://… to share live changes with other pulse serve processes; unset: in-process only',
  }),
  allowedOrigins: setting({
    type: list(),
    default: [],
    env: 'PULSE_ALLOWED_ORIGINS',
    flag: '--allowed-origins <list>',
    description: 'browser origins allowed besides same-origin (CORS and WebSocket), comma-separated; * allows any',
  }),
  trustProxy: setting({
    type: proxies(),
    default: false,
    env: 'PULSE_TRUST_PROXY',
    flag: '--trust-proxy <list>',
    description:
      'proxies whose X-Forwarded-For gives the client address: true (any) or their addresses/CIDRs; behind a load balancer, or every login is throttled as the balancer',
  }),
  docs: setting({
    type: boolean(),
    default: undefined,
    env: 'PULSE_DOCS',
    flag: '--docs',
    description: 'serve /api/docs (Swagger UI) and /api/schema (OpenAPI); unset: on in development, off in production',
  }),
  demoPages: setting({
    type: boolean(),
    default: undefined,
    env: 'PULSE_DEMO_PAGES',
    flag: '--demo-pages',
    description: 'serve the demo pages /demo/* (they sign up a demo user); unset: on in development, off in production',
  }),
  bodyLimitBytes: setting({
    type: integer(1024, 1024 * MIB),
    default: DEFAULT_BODY_LIMIT_BYTES,
    env: 'PULSE_BODY_LIMIT_BYTES',
    flag: '--body-limit-bytes <bytes>',
    description: 'largest request body; larger ones answer 413',
  }),
  'timeouts.requestMs': setting({
    type: integer(1000, 3_600_000),
    default: DEFAULT_HTTP_TIMEOUTS.requestMs,
    env: 'PULSE_REQUEST_TIMEOUT_MS',
    flag: '--request-timeout-ms <ms>',
    description: 'a whole request (headers and body) must arrive within this; else 408',
  }),
  'timeouts.headersMs': setting({
    type: integer(1000, 3_600_000),
    default: DEFAULT_HTTP_TIMEOUTS.headersMs,
    env: 'PULSE_HEADERS_TIMEOUT_MS',
    flag: '--headers-timeout-ms <ms>',
    description: "a request's headers must arrive within this; else 408",
  }),
  'timeouts.idleMs': setting({
    type: integer(1000, 3_600_000),
    default: DEFAULT_HTTP_TIMEOUTS.idleMs,
    env: 'PULSE_IDLE_TIMEOUT_MS',
    flag: '--idle-timeout-ms <ms>',
    description: 'an HTTP connection with nothing sent or received for this long is closed (not WebSockets)',
  }),
  'timeouts.keepAliveMs': setting({
    type: integer(1000, 3_600_000),
    default: DEFAULT_HTTP_TIMEOUTS.keepAliveMs,
    env: 'PULSE_KEEP_ALIVE_TIMEOUT_MS',
    flag: '--keep-alive-timeout-ms <ms>',
    description: 'how long a kept-alive connection waits for its next request',
  }),
  maxConnectionsPerAddress: setting({
    type: integer(0, 1_000_000),
    default: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    env: 'PULSE_MAX_CONNECTIONS_PER_ADDRESS',
    flag: '--max-connections-per-address <n>',
    description: 'connections one client address may hold open (0: no cap); behind a proxy, raise it',
  }),
  maxPageBytes: setting({
    type: integer(64 * 1024, 1024 * MIB),
    default: DEFAULT_MAX_PAGE_BYTES,
    env: 'PULSE_MAX_PAGE_BYTES',
    flag: '--max-page-bytes <bytes>',
    description: 'largest page of a pull, catch-up, list or live message, in bytes of records (a larger record comes alone)',
  }),
  maxPullBytesInFlight: setting({
    type: integer(MIB, 64 * 1024 * MIB),
    default: DEFAULT_MAX_PULL_BYTES_IN_FLIGHT,
    env: 'PULSE_MAX_PULL_BYTES_IN_FLIGHT',
    flag: '--max-pull-bytes-in-flight <bytes>',
    description: 'bytes of pull and list pages being loaded and sent at once, over all callers',
  }),
  readyProbeIntervalMs: setting({
    type: integer(100, 3_600_000),
    default: DEFAULT_PROBE_INTERVAL_MS,
    env: 'PULSE_READY_PROBE_INTERVAL_MS',
    flag: '--ready-probe-interval-ms <ms>',
    description: '/api/v1/readyz proves a database write at most this often',
  }),
  shutdownTimeoutMs: setting({
    type: integer(0, 3_600_000),
    default: DEFAULT_SHUTDOWN_TIMEOUT_MS,
    env: 'PULSE_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms <ms>',
    description: 'on SIGTERM/SIGINT, how long in-flight requests may take to finish before their connections are cut',
  }),
  'logger.level': setting({
    type: oneOf(LOG_LEVELS),
    default: 'info',
    env: 'PULSE_LOG_LEVEL',
    flag: '--log-level <level>',
    description: `log level: ${LOG_LEVELS.join(', ')}`,
  }),
  'logger.format': setting({
    type: oneOf(['auto', 'pretty', 'json'] as const),
    default: 'auto',
    env: 'PULSE_LOG_FORMAT',
    flag: '--log-format <format>',
    description: 'pretty (colourised lines), json (one object a line), or auto: pretty on a terminal, json otherwise',
  }),
  'auth.secret': setting({
    type: text(),
    default: undefined,
    env: 'PULSE_SECRET',
    description: 'key that signs access tokens (32+ characters); unset: one is generated into auth.secretFile, refused in production',
    secret: true,
  }),
  'auth.production': setting({
    type: productionFlag(),
    default: false,
    env: 'NODE_ENV',
    description: 'production: refuse to start without auth.secret (NODE_ENV=production sets it)',
  }),
  'auth.secretFile': setting({
    type: text(),
    default: '.pulse/secret',
    env: 'PULSE_SECRET_FILE',
    description: 'where a development secret is kept',
  }),
  'auth.allowRegistration': setting({
    type: boolean(),
    default: undefined,
    env: 'PULSE_REGISTRATION',
    flag: '--registration',
    description:
      'self-service sign-up (POST /api/auth/register); off: accounts come from the CLI; unset: on in development, off in production',
  }),
  'auth.accessTtlSeconds': setting({
    type: integer(60, 86_400),
    default: DEFAULT_ACCESS_TTL_SECONDS,
    env: 'PULSE_ACCESS_TTL_SECONDS',
    flag: '--access-ttl-seconds <seconds>',
    description: 'lifetime of an access token',
  }),
  'auth.refreshTtlDays': setting({
    type: integer(1, 365),
    default: 30,
    env: 'PULSE_REFRESH_TTL_DAYS',
    flag: '--refresh-ttl-days <days>',
    description: 'lifetime of a refresh token (a device stays signed in this long without use)',
  }),
  'auth.tokenRatePerSecond': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_TOKEN_RATE_PER_SECOND,
    env: 'PULSE_TOKEN_RATE_PER_SECOND',
    flag: '--token-rate-per-second <n>',
    description: 'requests per second one device may make, over all its access tokens; above it 429 rate_limited',
  }),
  'auth.apiTokenRatePerSecond': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_API_TOKEN_RATE_PER_SECOND,
    env: 'PULSE_API_TOKEN_RATE_PER_SECOND',
    flag: '--api-token-rate-per-second <n>',
    description: 'requests per second one API token (a service) may make; above it 429 rate_limited',
  }),
  'auth.maxDevicesPerUser': setting({
    type: integer(1, 100_000),
    default: DEFAULT_MAX_DEVICES_PER_USER,
    env: 'PULSE_MAX_DEVICES_PER_USER',
    flag: '--max-devices-per-user <n>',
    description: 'devices one user may register; above it a login as a new device answers 403',
  }),
  'auth.directMemberAdd': setting({
    type: boolean(),
    default: true,
    env: 'PULSE_DIRECT_MEMBER_ADD',
    flag: '--direct-member-add',
    description: 'server admins may add members to an organization without an invitation',
  }),
  'auth.maxPendingInvitations': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_MAX_PENDING_INVITATIONS,
    env: 'PULSE_MAX_PENDING_INVITATIONS',
    flag: '--max-pending-invitations <n>',
    description: 'pending invitations one organization may have',
  }),
  'auth.loginThrottle.freeAttempts': setting({
    type: integer(1, 1000),
    default: DEFAULT_LOGIN_THROTTLE.freeAttempts,
    env: 'PULSE_LOGIN_FREE_ATTEMPTS',
    flag: '--login-free-attempts <n>',
    description: 'failed logins for one account from one address before each next attempt must wait (1 s, 2 s, 4 s …)',
  }),
  'auth.loginThrottle.maxDelayMs': setting({
    type: integer(1000, 86_400_000),
    default: DEFAULT_LOGIN_THROTTLE.maxDelayMs,
    env: 'PULSE_LOGIN_MAX_DELAY_MS',
    flag: '--login-max-delay-ms <ms>',
    description: 'longest wait between failed logins for one account from one address',
  }),
  'auth.loginThrottle.addressBurst': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_LOGIN_THROTTLE.addressBurst,
    env: 'PULSE_LOGIN_ADDRESS_BURST',
    flag: '--login-address-burst <n>',
    description: 'failed logins one address may make at once, refilled over 15 minutes',
  }),
  'realtime.maxFrameBytes': setting({
    type: integer(1024, 256 * MIB),
    default: DEFAULT_MAX_FRAME_BYTES,
    env: 'PULSE_WS_MAX_FRAME_BYTES',
    flag: '--ws-max-frame-bytes <bytes>',
    description: 'largest WebSocket frame a client may send; larger ones close the socket (1009)',
  }),
  'realtime.rateLimit.perSecond': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_RATE_LIMIT.perSecond,
    env: 'PULSE_WS_RATE_PER_SECOND',
    flag: '--ws-rate-per-second <n>',
    description: 'messages per second one socket may send, sustained; above it the socket closes (4429)',
  }),
  'realtime.rateLimit.burst': setting({
    type: integer(1, 1_000_000),
    default: DEFAULT_RATE_LIMIT.burst,
    env: 'PULSE_WS_RATE_BURST',
    flag: '--ws-rate-burst <n>',
    description: 'messages one socket may send in a burst above the sustained rate',
  }),
  'realtime.helloTimeoutMs': setting({
    type: integer(100, 600_000),
    default: DEFAULT_HELLO_TIMEOUT_MS,
    env: 'PULSE_WS_HELLO_TIMEOUT_MS',
    flag: '--ws-hello-timeout-ms <ms>',
    description: 'how long a new socket may take to say hello',
  }),
  'realtime.heartbeatIntervalMs': setting({
    type: integer(1000, 3_600_000),
    default: DEFAULT_HEARTBEAT_INTERVAL_MS,
    env: 'PULSE_WS_HEARTBEAT_INTERVAL_MS',
    flag: '--ws-heartbeat-interval-ms <ms>',
    description: 'ping interval; a socket that misses a pong is closed',
  }),
  'realtime.recheckIntervalMs': setting({
    type: integer(1000, 3_600_000),
    default: 10_000,
    env: 'PULSE_WS_RECHECK_INTERVAL_MS',
    flag: '--ws-recheck-interval-ms <ms>',
    description: "how often an open socket's credentials and scope are checked again",
  }),
  'realtime.maxBufferedBytes': setting({
    type: integer(1024, 1024 * MIB),
    default: DEFAULT_MAX_BUFFERED_BYTES,
    env: 'PULSE_WS_MAX_BUFFERED_BYTES',
    flag: '--ws-max-buffered-bytes <bytes>',
    description: 'send-buffer bytes above which a slow socket gets a poke instead of changes (it pulls when it can)',
  }),
  'realtime.maxSocketBufferBytes': setting({
    type: integer(64 * 1024, 1024 * MIB),
    default: DEFAULT_MAX_SOCKET_BUFFER_BYTES,
    env: 'PULSE_WS_MAX_SOCKET_BUFFER_BYTES',
    flag: '--ws-max-socket-buffer-bytes <bytes>',
    description: 'unsent bytes past which a socket that does not read is dropped (it reconnects and resumes)',
  }),
  'realtime.gapWaitMs': setting({
    type: integer(0, 60_000),
    default: DEFAULT_GAP_WAIT_MS,
    env: 'PULSE_WS_GAP_WAIT_MS',
    flag: '--ws-gap-wait-ms <ms>',
    description: 'how long a commit waits for earlier ones before live sockets are poked to pull',
  }),
} as const

/** A setting's name: its path in StartOptions and under `server` in pulse.config.ts. */
export type SettingName = keyof typeof SETTINGS

/** The value of setting `N`. */
export type SettingValue<N extends SettingName> = ValueOf<(typeof SETTINGS)[N]['type']>

// ---- types derived from the table ----

/** The value at a dotted path of T; over unions (`auth?: false | AuthOptions`) it looks into the objects. */
type ValueAt<T, P extends string> = P extends `${infer H}.${infer R}` ? ValueAt<PropOf<T, H>, R> : PropOf<T, P>
type PropOf<T, K extends string> = T extends object ? (K extends keyof T ? T[K] : never) : never

/** Every row names a StartOptions field and produces a value that field takes. */
type RowsFitStartOptions = {
  [N in SettingName]: [SettingValue<N>] extends [Exclude<ValueAt<StartOptions, N>, undefined>]
    ? true
    : `setting ${N} does not fit StartOptions`
}
/** Fails to compile, naming the row, when a row does not fit. */
export type EveryRowFits<T extends { [N in SettingName]: true } = RowsFitStartOptions> = T

type Head<P extends string> = P extends `${infer H}.${string}` ? H : P
/** The settings as nested objects: `{ auth?: { accessTtlSeconds?: number } }`. */
type Tree<Names extends string, Values extends Record<Names, unknown>> = {
  [H in Head<Names>]?: H extends Names
    ? Values[H]
    : Tree<Names extends `${H}.${infer R}` ? R : never, { [R in Names extends `${H}.${infer R}` ? R : never]: Values[`${H}.${R}` & Names] }>
}

/** What `server` in pulse.config.ts may hold: every setting of the table, each optional. */
export type ServerSettings = Tree<SettingName, { [N in SettingName]: SettingValue<N> }>
