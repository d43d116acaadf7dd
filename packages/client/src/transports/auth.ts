/**
 * Credentials for the server (§9), asked for before every request and every socket hello, so
 * an app can hand out a fresh access token each time. Optional: a server without accounts
 * needs none.
 */

/** What an app's auth function returns: a bearer token, or the headers to send (API tokens, custom schemes). */
export interface AuthCredentials {
  /** Sent as `Authorization: Bearer <token>` over HTTP and as the hello's `token` over the socket. */
  readonly token?: string
  /** Sent as they are over HTTP (instead of the bearer header). */
  readonly headers?: Readonly<Record<string, string>>
}

/** Returns the current credentials, or undefined when there are none. */
export type AuthProvider = () => AuthCredentials | undefined | Promise<AuthCredentials | undefined>

/** The HTTP headers for some credentials. */
export function authHeaders(credentials: AuthCredentials | undefined): Record<string, string> {
  if (credentials?.headers) return { ...credentials.headers }
  return credentials?.token ? { authorization: `Bearer ${credentials.token}` } : {}
}
