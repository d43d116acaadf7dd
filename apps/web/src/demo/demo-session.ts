/**
 * Signing a demo page in (PROTOCOL.md §9): on first load it registers the demo user (sign-up
 * is open in development; an existing user is fine) and logs in as a device of its own; the
 * tokens and the device id are kept in localStorage under the page's own key, so every window
 * is one device (its clientId) across reloads. An access token that the server refuses is
 * renewed with the refresh token, or, when that is gone too, by logging in again as the same
 * device.
 */

/** Who the demo pages sign in as. */
export interface DemoCredentials {
  readonly username: string
  readonly password: string
}

/** The demo user every demo page shares: each page is a device of this one user. */
export const DEMO_USER: DemoCredentials = { username: 'demo', password: 'pulse demo password' }

/** What a page keeps between loads. */
interface SavedSession {
  readonly access: string
  readonly refresh: string
  readonly deviceId: string
  readonly userId: string
}

/** A signed-in page. */
export interface DemoSession {
  /** The device this page is (§9): the client's `clientId`. */
  readonly deviceId: string
  readonly userId: string
  /** The current access token. */
  accessToken(): string
  /**
   * Gets a new access token (refresh, else log in again) and returns it. Concurrent calls share
   * one renewal: a refresh token works once, and a second use would revoke the session.
   */
  renew(): Promise<string>
}

/** Where a page signs in. */
export interface DemoSignInOptions {
  /** The server's origin, e.g. `location.origin`. */
  readonly baseUrl: string
  /** The localStorage key of this page's session: one per page, so each page is its own device. */
  readonly storageKey: string
  /** The device name shown in the user's device list. */
  readonly deviceName: string
  readonly credentials?: DemoCredentials
}

/** When a JWT access token was issued and expires (ms since the epoch), or undefined when it cannot be read. */
export function tokenLifetime(token: string): { issuedAt: number; expiresAt: number } | undefined {
  try {
    const part = token.split('.')[1] ?? ''
    const json: unknown = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    const { iat, exp } = (json ?? {}) as { iat?: unknown; exp?: unknown }
    return typeof iat === 'number' && typeof exp === 'number' ? { issuedAt: iat * 1000, expiresAt: exp * 1000 } : undefined
  } catch {
    return undefined
  }
}

/** A request the server refused, with its §7 code. */
export class DemoAuthError extends Error {
  override readonly name = 'DemoAuthError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

async function postJson(baseUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  const json: unknown = text ? JSON.parse(text) : {}
  const object = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {}
  if (!response.ok) {
    const error = (object.error ?? {}) as { code?: unknown; message?: unknown }
    const code = typeof error.code === 'string' ? error.code : 'http_error'
    const message = typeof error.message === 'string' ? error.message : `${path} answered ${response.status}`
    throw new DemoAuthError(response.status, code, message)
  }
  return object
}

function readSaved(key: string): SavedSession | undefined {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(key) ?? 'null')
    if (typeof value !== 'object' || value === null) return undefined
    const { access, refresh, deviceId, userId } = value as Record<string, unknown>
    if (typeof access !== 'string' || typeof refresh !== 'string' || typeof deviceId !== 'string' || typeof userId !== 'string')
      return undefined
    return { access, refresh, deviceId, userId }
  } catch {
    return undefined
  }
}

/** Runs `fn` holding a lock named `name` across this origin's tabs, where the browser has Web Locks. */
function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as { locks?: { request(name: string, fn: () => Promise<T>): Promise<T> } }).locks
  return locks ? locks.request(name, fn) : fn()
}

/**
 * Signs the page in: reuses its saved session, or registers the demo user (if missing) and logs
 * in as a new device. Rejects when the server cannot be reached or refuses the demo user.
 */
export async function signInDemo(options: DemoSignInOptions): Promise<DemoSession> {
  const { baseUrl, storageKey, deviceName } = options
  const credentials = options.credentials ?? DEMO_USER

  const save = (session: SavedSession): SavedSession => {
    localStorage.setItem(storageKey, JSON.stringify(session))
    return session
  }

  const logIn = async (deviceId: string | undefined): Promise<SavedSession> => {
    const login = () =>
      postJson(baseUrl, '/api/auth/login', { ...credentials, deviceName, ...(deviceId ? { deviceId } : {}) }).then((answer) => {
        const device = answer.device as { id: string }
        const user = answer.user as { id: string }
        return save({ access: String(answer.access), refresh: String(answer.refresh), deviceId: device.id, userId: user.id })
      })
    try {
      return await login()
    } catch (error) {
      if (!(error instanceof DemoAuthError) || error.code !== 'unauthenticated') throw error
    }
    // No such user yet (a fresh server): sign up, then log in. 409: someone else just did.
    try {
      await postJson(baseUrl, '/api/auth/register', credentials)
    } catch (error) {
      if (!(error instanceof DemoAuthError) || error.status !== 409) throw error
    }
    return login()
  }

  let session = readSaved(storageKey) ?? (await withLock(storageKey, async () => readSaved(storageKey) ?? logIn(undefined)))
  let renewing: Promise<string> | undefined

  const renewOnce = () =>
    withLock(storageKey, async () => {
      // Another tab of this page may have renewed already: its tokens are the ones that work.
      const saved = readSaved(storageKey)
      if (saved && saved.refresh !== session.refresh) {
        session = saved
        return session.access
      }
      try {
        const pair = await postJson(baseUrl, '/api/auth/refresh', { refresh: session.refresh })
        session = save({ ...session, access: String(pair.access), refresh: String(pair.refresh) })
      } catch (error) {
        if (!(error instanceof DemoAuthError) || error.status !== 401) throw error
        session = await logIn(session.deviceId)
      }
      return session.access
    })

  return {
    get deviceId() {
      return session.deviceId
    },
    get userId() {
      return session.userId
    },
    accessToken: () => session.access,
    renew() {
      renewing ??= renewOnce().finally(() => {
        renewing = undefined
      })
      return renewing
    },
  }
}
