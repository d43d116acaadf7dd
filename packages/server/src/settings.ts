/**
 * Every server setting, in one table. A setting's name is its place in `StartOptions`
 * (`auth.accessTtlSeconds` is `startServer({ auth: { accessTtlSeconds } })`) and under `server`
 * in `pulse.config.ts`; each row gives its kind of value, default, environment variable and flag.
 * Adding a setting is one row here (and one in the README's table, which a test compares): the
 * config file's type, the validation at start-up, the environment, the flags of `pulse serve`
 * and its `--help` all follow from it. The type check below refuses a row whose name is not a
 * StartOptions field or whose value does not fit it.
 */
import { DEFAULT_ACCESS_TTL_SECONDS } from './auth/access-tokens.ts'
import { DEFAULT_TOKEN_RATE_PER_SECOND } from './http/authenticate.ts'
import { DEFAULT_BODY_LIMIT_BYTES } from './http/server.ts'
import { DEFAULT_GAP_WAIT_MS } from './realtime/commit-order.ts'
import { DEFAULT_MAX_BUFFERED_BYTES } from './realtime/fan-out.ts'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './realtime/heartbeat.ts'
import { DEFAULT_RATE_LIMIT } from './realtime/rate-limit.ts'
import { DEFAULT_HELLO_TIMEOUT_MS } from './realtime/session.ts'
import { DEFAULT_MAX_FRAME_BYTES } from './realtime/socket.ts'
import { boolean, integer, list, oneOf, productionFlag, type SettingType, text, type ValueOf } from './settings-types.ts'
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
  bodyLimitBytes: setting({
    type: integer(1024, 1024 * MIB),
    default: DEFAULT_BODY_LIMIT_BYTES,
    env: 'PULSE_BODY_LIMIT_BYTES',
    flag: '--body-limit-bytes <bytes>',
    description: 'largest request body; larger ones answer 413',
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
    default: true,
    env: 'PULSE_REGISTRATION',
    flag: '--registration',
    description: 'self-service sign-up (POST /api/auth/register); off: accounts come from the CLI',
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
    description: 'requests per second one access or API token may make; above it 429 rate_limited',
  }),
  'auth.loginLimitPerAccount': setting({
    type: integer(1, 100_000),
    default: 10,
    env: 'PULSE_LOGIN_LIMIT_PER_ACCOUNT',
    flag: '--login-limit-per-account <n>',
    description: 'failed logins allowed per account in 15 minutes',
  }),
  'auth.loginLimitPerAddress': setting({
    type: integer(1, 1_000_000),
    default: 100,
    env: 'PULSE_LOGIN_LIMIT_PER_ADDRESS',
    flag: '--login-limit-per-address <n>',
    description: 'failed logins allowed per client address in 15 minutes',
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
