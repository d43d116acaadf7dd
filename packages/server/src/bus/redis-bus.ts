/**
 * The Redis bus: carries commits between the `pulse serve` processes of one deployment
 * (ARCHITECTURE.md, production). One connection publishes, one subscribes; Redis delivers each
 * message to every subscriber, the publishing process included, once. A message lost while a
 * connection is down shows up downstream as a gap in positions, which the hub turns into pokes.
 */
import { Redis } from 'ioredis'
import { type Bus, type BusErrorHandler, type BusMessage, isBusMessage } from './bus.ts'
import { type ControlMessage, isControlMessage } from './control.ts'

/** The channel used unless told otherwise. */
export const DEFAULT_BUS_CHANNEL = 'pulse:changes'
/** How long `createRedisBus` waits for Redis before giving up, unless told otherwise. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 10_000

/** What `createRedisBus` takes. */
export interface RedisBusOptions {
  /**
   * The pub/sub channel; processes that should see each other's commits share it. Control
   * messages travel on `<channel>:control`.
   */
  channel?: string
  /** Connection failures, unreadable messages and failing subscribers (default: console.error). */
  onError?: BusErrorHandler
  /** How long to wait for both connections at start (default 10 s). */
  connectTimeoutMs?: number
}

/** Hides the password of a Redis URL for messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
}

function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => client.once('ready', () => resolve()))
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function shut(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {
      // fall through: the connection went away while quitting
    }
  }
  client.disconnect()
}

/**
 * Connects to Redis at `url` (`redis://[:password@]host:port[/db]`) and resolves once both
 * connections are up and subscribed; rejects (having closed them) when Redis does not answer
 * within `connectTimeoutMs`. Afterwards both connections reconnect on their own; errors go to
 * `onError`, once per outage rather than once per retry.
 */
export async function createRedisBus(url: string, options: RedisBusOptions = {}): Promise<Bus> {
  const channel = options.channel ?? DEFAULT_BUS_CHANNEL
  const controlChannel = `${channel}:control`
  const onError = options.onError ?? ((e: unknown) => console.error('pulse: redis bus', e))
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS
  // Publishing fails fast while disconnected: a late live message is worth less than a poke.
  const publisher = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    connectionName: 'pulse-bus-pub',
  })
  const subscriber = new Redis(url, { autoResubscribe: true, maxRetriesPerRequest: null, connectionName: 'pulse-bus-sub' })
  const handlers = new Set<(message: BusMessage) => void>()
  const controlHandlers = new Set<(message: ControlMessage) => void>()
  let closed = false

  for (const [client, role] of [
    [publisher, 'publisher'],
    [subscriber, 'subscriber'],
  ] as const) {
    let down = false
    client.on('error', (e: unknown) => {
      if (down || closed) return
      down = true
      const reason = e instanceof Error ? e.message : String(e)
      onError(new Error(`redis bus ${role} (${redactRedisUrl(url)}): ${reason}`, { cause: e }))
    })
    client.on('ready', () => {
      down = false
    })
  }

  function deliver<M>(message: M, to: Set<(message: M) => void>): void {
    for (const handler of to) {
      try {
        handler(message)
      } catch (e) {
        onError(e)
      }
    }
  }

  subscriber.on('message', (from: string, payload: string) => {
    if ((from !== channel && from !== controlChannel) || closed) return
    let message: unknown
    try {
      message = JSON.parse(payload)
    } catch (e) {
      onError(new Error(`redis bus: a message on ${from} is not JSON`, { cause: e }))
      return
    }
    if (from === controlChannel) {
      if (isControlMessage(message)) deliver(message, controlHandlers)
      else onError(new Error(`redis bus: a message on ${from} is not a control message`))
      return
    }
    if (isBusMessage(message)) deliver(message, handlers)
    else onError(new Error(`redis bus: a message on ${channel} is not a commit`))
  })

  try {
    await withTimeout(Promise.all([whenReady(publisher), subscriber.subscribe(channel, controlChannel)]), timeoutMs)
  } catch (e) {
    closed = true
    await Promise.all([shut(publisher), shut(subscriber)])
    const reason = e instanceof Error ? e.message : String(e)
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${reason}`, { cause: e })
  }

  return {
    async publish(message, signal) {
      signal?.throwIfAborted()
      if (closed) throw new Error('the bus is closed')
      // Serialised once, here, for every process.
      await publisher.publish(channel, JSON.stringify(message))
    },
    subscribe(handler) {
      const entry = (message: BusMessage) => handler(message)
      handlers.add(entry)
      return () => {
        handlers.delete(entry)
      }
    },
    async publishControl(message, signal) {
      signal?.throwIfAborted()
      if (closed) throw new Error('the bus is closed')
      await publisher.publish(controlChannel, JSON.stringify(message))
    },
    subscribeControl(handler) {
      const entry = (message: ControlMessage) => handler(message)
      controlHandlers.add(entry)
      return () => {
        controlHandlers.delete(entry)
      }
    },
    async close() {
      if (closed) return
      closed = true
      handlers.clear()
      controlHandlers.clear()
      await Promise.all([shut(publisher), shut(subscriber)])
    },
  }
}
