/**
 * The client of one demo page: signed in as a device of its own, its data in an IndexedDB
 * database of its own (the two pages share one origin, hence one IndexedDB and one
 * localStorage), syncing with the server that served the page over WebSocket.
 */
import { type Client, createClient, createIndexedDbStore } from '@pulse/client'
import { person } from '../../../../examples/two-window/person.ts'
import { type DemoSession, signInDemo, tokenLifetime } from './demo-session.ts'

/** Renew an access token this long before it expires (or after two thirds of its life, if sooner). */
const RENEW_BEFORE_EXPIRY_MS = 30_000

/** A signed-in page's client and session. */
export interface DemoClient {
  readonly client: Client
  readonly session: DemoSession
}

/**
 * The access token to send: the current one, renewed first when it is about to expire. A
 * failed renewal (offline) sends the current one; the request then fails and is retried.
 */
async function freshToken(session: DemoSession): Promise<string> {
  const lifetime = tokenLifetime(session.accessToken())
  if (lifetime === undefined) return session.accessToken()
  const margin = Math.min(RENEW_BEFORE_EXPIRY_MS, (lifetime.expiresAt - lifetime.issuedAt) / 3)
  if (lifetime.expiresAt - Date.now() > margin) return session.accessToken()
  try {
    return await session.renew()
  } catch {
    return session.accessToken()
  }
}

/**
 * When the server refuses the token anyway (expired, revoked, a new server secret), renews it;
 * the client reconnects as soon as this settles, asking for credentials again. A renewal that
 * lands on another device (the old one is gone) reloads the page, whose store belongs to the
 * old device.
 */
async function renewWhenRefused(session: DemoSession): Promise<void> {
  const device = session.deviceId
  try {
    await session.renew()
  } catch (e) {
    console.warn('pulse demo: could not renew the session', e)
    return
  }
  if (session.deviceId !== device) location.reload()
}

/**
 * Whether the server serves the `person` model (its REST route answers); true when that cannot
 * be told (offline), so a page opened offline still works from its local store.
 */
export async function personServed(session: DemoSession): Promise<boolean> {
  try {
    const response = await fetch(`${location.origin}/api/persons?limit=1`, {
      headers: { authorization: `Bearer ${await freshToken(session)}` },
    })
    return response.status !== 404
  } catch {
    return true
  }
}

/** Signs page `page` in (first load: registers and logs in the demo user) and starts its client. */
export async function startDemoClient(page: string): Promise<DemoClient> {
  const session = await signInDemo({
    baseUrl: location.origin,
    storageKey: `pulse-demo:${page}:session`,
    deviceName: `two-window demo, ${page}`,
  })
  const client = createClient({
    url: location.origin,
    models: [person],
    // One database per page and device: a new device (a reset server) starts from a clean store.
    store: createIndexedDbStore(`pulse-demo:${page}:${session.deviceId}`),
    clientId: session.deviceId,
    auth: async () => ({ token: await freshToken(session) }),
    onUnauthorized: () => renewWhenRefused(session),
  })
  return { client, session }
}
