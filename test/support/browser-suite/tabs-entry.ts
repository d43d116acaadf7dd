/**
 * One tab of test/tabs.browser.test.ts: a client on the IndexedDB store every tab of the page's
 * origin shares, syncing with a real server as one device. `globalThis.__tab` lets the test
 * start it, write through it, read what it shows, and hold the server's push answers (socket
 * `pushResult` messages, HTTP push responses) in the tab that owns the store, so that it can be
 * closed with pushes landed on the server but not answered.
 * (No DOM lib in the tests' type check: the browser's globals are reached through `any`.)
 */
import { type Client, createClient, createIndexedDbStore, type FetchLike, type WebSocketConstructor } from '@pulse/client'
import { note, syncSchema } from '../sync-models.ts'

const page = globalThis as any

/** What the test hands a tab. */
export interface TabConfig {
  url: string
  deviceId: string
  access: string
  store: string
}

/** What a tab shows of the notes with one marker body. */
export interface TabState {
  tab: 'leader' | 'follower' | null
  transport: 'websocket' | 'http' | null
  /** The notes with the marker, as a query finds them. */
  titles: string[]
  /** The size of the live query's result the last time it told its listener. */
  live: number
  pending: number
  rejected: number
  syncing: number
  upToDate: boolean
}

let client: Client
let holding = false
const held: (() => void)[] = []
const errors: string[] = []
const writes = new Map<string, Promise<string[]>>()
const liveSizes = new Map<string, number>()

/** The browser's WebSocket, whose `pushResult` messages wait while `holding`. */
function holdingSocket(): WebSocketConstructor {
  const Base = page.WebSocket
  return class extends Base {
    addEventListener(type: string, listener: (event: any) => void) {
      if (type !== 'message') return super.addEventListener(type, listener)
      return super.addEventListener(type, (event: any) => {
        if (holding && String(event.data).includes('"pushResult"')) held.push(() => listener(event))
        else listener(event)
      })
    }
  } as unknown as WebSocketConstructor
}

/** The browser's fetch, whose push responses wait while `holding`. */
const holdingFetch: FetchLike = async (url, init) => {
  const response = await page.fetch(url, init)
  if (holding && url.endsWith('/api/sync/push')) await new Promise<void>((release) => held.push(release))
  return response
}

async function write(marker: string, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await client.create(note, { title: `${marker} ${i}`, body: marker })).id)
  return ids
}

page.__tab = {
  async start(config: TabConfig) {
    client = createClient({
      url: config.url,
      models: [...syncSchema.models.values()],
      store: createIndexedDbStore(config.store),
      clientId: config.deviceId,
      auth: () => ({ token: config.access }),
      WebSocket: holdingSocket(),
      fetch: holdingFetch,
      onError: (e) => errors.push(String(e)),
    })
    await client.ready
    return client.status().tab
  },
  /** Listens to the live query of a marker (to see changes arrive without asking). */
  watch(marker: string) {
    const live = client.live(note, { where: { body: marker } })
    live.subscribe(() => liveSizes.set(marker, live.getSnapshot()?.length ?? 0))
  },
  hold(on: boolean) {
    holding = on
    if (!on) for (const release of held.splice(0)) release()
  },
  /** Writes `count` notes one after the other; `written` tells when they are all stored (through whichever tab owns the store). */
  write(marker: string, count: number) {
    writes.set(marker, write(marker, count))
  },
  async written(marker: string) {
    return writes.get(marker)
  },
  async state(marker: string): Promise<TabState> {
    const status = client.status()
    const notes = await client.query(note, { where: { body: marker }, orderBy: 'title' })
    return {
      tab: status.tab,
      transport: status.transport,
      titles: notes.map((n) => String(n.title)),
      live: liveSizes.get(marker) ?? 0,
      pending: status.pending,
      rejected: status.rejected,
      syncing: client.outbox().filter((e) => e.status === 'SYNCING').length,
      upToDate: status.upToDate,
    }
  },
  errors: () => errors,
}
