/** Starting a real Pulse server on an ephemeral port for protocol-level tests. */
import type { Schema } from '@pulse/core'
import { type AuthOptions, type RunningServer, type SqlStorage, type StartOptions, startServer } from '@pulse/server'

/** The signing key of test servers. */
export const TEST_SECRET = 'pulse test secret, long enough for HS256 keys'

/**
 * Server options a test may set: body limit, bus (default in-process), WebSocket settings,
 * allowed origins, timeouts and page bounds, and `auth`: accounts on (sign-up open, `accessTtlSeconds` to make tokens
 * expire fast) or, by default, off (every caller is the system actor).
 */
export type TestServerOptions = Pick<
  StartOptions,
  | 'bodyLimitBytes'
  | 'bus'
  | 'realtime'
  | 'allowedOrigins'
  | 'trustProxy'
  | 'timeouts'
  | 'maxConnectionsPerAddress'
  | 'maxPageBytes'
  | 'maxPullBytesInFlight'
  | 'readyProbeIntervalMs'
> & {
  auth?: boolean
  accessTtlSeconds?: number
  /** More account settings (with `auth: true`): rate limits, device cap, login throttle, production. */
  authOptions?: Omit<AuthOptions, 'secret' | 'accessTtlSeconds'>
}

/** Starts a server over the storage (which it then owns) on 127.0.0.1 and a free port. */
export async function startTestServer(schema: Schema, storage: SqlStorage, options: TestServerOptions = {}): Promise<RunningServer> {
  const { auth, accessTtlSeconds, authOptions, ...rest } = options
  return startServer({
    schema,
    database: storage,
    port: 0,
    logger: false,
    ...rest,
    auth: auth
      ? { secret: TEST_SECRET, allowRegistration: true, ...(accessTtlSeconds ? { accessTtlSeconds } : {}), ...authOptions }
      : false,
  })
}

/** A small JSON-over-HTTP client bound to a server's base URL, sending `defaults` headers. */
export function httpClient(base: string, defaults: Record<string, string> = {}) {
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const init: RequestInit = { method, headers: { ...defaults, ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const res = await fetch(`${base}${path}`, init)
    const text = await res.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json: json as Record<string, any> }
  }
  return {
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
    patch: (path: string, body?: unknown, headers?: Record<string, string>) => call('PATCH', path, body, headers),
    delete: (path: string, headers?: Record<string, string>) => call('DELETE', path, undefined, headers),
    call,
  }
}
