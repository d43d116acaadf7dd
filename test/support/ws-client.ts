/**
 * A WebSocket client for protocol tests: a real `ws` socket that records every server message
 * and lets a test await the next one matching a predicate.
 */
import type { ServerMessage } from '@pulse/core'
import WebSocket from 'ws'

/** A server message of one type. */
export type MessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>

/** A connected test client. */
export interface WsClient {
  readonly ws: WebSocket
  /** Every message received, in order. */
  readonly messages: ServerMessage[]
  /** Sends a value as JSON. */
  send(message: unknown): void
  /** Sends a frame as is. */
  sendRaw(data: string | Buffer): void
  /**
   * The first message not yet taken that matches `predicate` (waiting for it if need be); it
   * is then taken, so the next call finds a later one.
   */
  next<T extends ServerMessage = ServerMessage>(predicate?: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<T>
  /** The next message of a type. */
  nextOf<T extends ServerMessage['type']>(type: T, timeoutMs?: number): Promise<MessageOf<T>>
  /** Fails if a matching message not yet taken arrives within `ms`. */
  expectNone(predicate: (m: ServerMessage) => boolean, ms: number): Promise<void>
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
}

/** Connects to `<base>/ws` (base: `http://host:port`). */
export async function connectWs(base: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, options)
  const messages: ServerMessage[] = []
  const taken = new Set<number>()
  const waiters = new Set<() => void>()
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() })
      for (const w of waiters) w()
    })
  })
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as ServerMessage)
    for (const w of waiters) w()
  })
  ws.on('error', () => {}) // surfaced through `closed`
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })

  function find(predicate: (m: ServerMessage) => boolean): number {
    return messages.findIndex((m, i) => !taken.has(i) && predicate(m))
  }

  function next<T extends ServerMessage>(predicate: (m: ServerMessage) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const i = find(predicate)
        if (i >= 0) {
          taken.add(i)
          done()
          resolve(messages[i] as T)
        } else if (ws.readyState === WebSocket.CLOSED) {
          done()
          reject(new Error(`socket closed while waiting; got ${JSON.stringify(messages).slice(0, 500)}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  return {
    ws,
    messages,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (data) => ws.send(data),
    next,
    nextOf: (type, timeoutMs) => next((m) => m.type === type, timeoutMs),
    async expectNone(predicate, ms) {
      await new Promise((r) => setTimeout(r, ms))
      const i = find(predicate)
      if (i >= 0) throw new Error(`unexpected message ${JSON.stringify(messages[i]).slice(0, 300)}`)
    },
    closed,
    close: () => ws.close(),
  }
}

/** What `helloAndCatchUp` gathered. */
export interface CaughtUp {
  welcome: MessageOf<'welcome'>
  pages: MessageOf<'changes'>[]
  /** The cursor of the last catch-up page. */
  cursor: string
}

/** Says hello and reads catch-up pages until one has `hasMore: false`. */
export async function helloAndCatchUp(
  client: WsClient,
  hello: { clientId: string; cursor?: string | null; models?: string[]; token?: string; schemaVersion?: number },
): Promise<CaughtUp> {
  client.send({ type: 'hello', cursor: null, ...hello })
  const welcome = await client.nextOf('welcome')
  const pages: MessageOf<'changes'>[] = []
  for (;;) {
    const page = await client.nextOf('changes')
    pages.push(page)
    if (!page.hasMore) return { welcome, pages, cursor: page.cursor }
  }
}
