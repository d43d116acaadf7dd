/**
 * @pulse/react's hooks in a real browser, rendered with react-dom against clients of a real
 * server (bundled by test/react-hooks.browser.test.ts, `vitest` aliased to ./vitest-shim.ts).
 * The clients sync only when told (`autoSync: false`, over HTTP), so every step is
 * deterministic. `globalThis.__runHooksSuite(config)` runs the tests and returns their results.
 * (No JSX: the tests' type check has no JSX or DOM settings.)
 */
import { type Client, createClient, createMemoryStore } from '@pulse/client'
import { defineModel, f } from '@pulse/core'
import { PulseProvider, useConflicts, usePulseClient, useQuery, useRecord, useRejections, useSyncStatus } from '@pulse/react'
import { Component, createElement, type ReactNode } from 'react'
import { createRoot } from 'react-dom/client'
import { expect, it } from 'vitest'
import { memo, note, syncSchema } from '../sync-models.ts'
import type { HooksDevice, HooksSuiteConfig } from './react-hooks-config.ts'
import { runCollected, type SuiteResult } from './vitest-shim.ts'

// The DOM, reached without the DOM lib (see above).
const dom = globalThis as any

let config: HooksSuiteConfig
const clients: Client[] = []

function newClient(device: HooksDevice, models = [...syncSchema.models.values()]): Client {
  const client = createClient({
    url: config.url,
    models,
    store: createMemoryStore(),
    clientId: device.deviceId,
    auth: () => ({ token: device.access }),
    autoSync: false,
    WebSocket: null,
  })
  clients.push(client)
  return client
}

/** Renders `element` under a provider of `client` into a fresh element; returns how to unmount. */
function render(client: Client, element: ReactNode): () => void {
  const container = dom.document.createElement('div')
  dom.document.body.append(container)
  const root = createRoot(container)
  root.render(createElement(PulseProvider, { client }, element))
  return () => {
    root.unmount()
    container.remove()
  }
}

/** Resolves once `check` passes (it throws until then); rejects with its last error after `ms`. */
async function waitFor(check: () => void, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

/** A component that records every value a hook returned to it. */
function probe<T>(useValue: () => T): { Probe: () => null; seen: T[]; last: () => T | undefined } {
  const seen: T[] = []
  const Probe = () => {
    seen.push(useValue())
    return null
  }
  return { Probe, seen, last: () => seen[seen.length - 1] }
}

const newId = () => crypto.randomUUID()

it('useRecord: undefined until loaded, null when absent, then every local change, null once deleted', async () => {
  const client = newClient(config.devices[0])
  const id = newId()
  const { Probe, seen, last } = probe(() => useRecord(note, id))
  const unmount = render(client, createElement(Probe))
  await waitFor(() => expect(last()).toBeNull())
  expect(seen[0] === undefined || seen[0] === null).toBe(true)
  await client.create(note, { id, title: 'first' })
  await waitFor(() => expect(last()?.title).toBe('first'))
  expect(last()?.localOnly).toBe(true)
  await client.update(note, id, { title: 'second' })
  await waitFor(() => expect(last()?.title).toBe('second'))
  await client.sync()
  await waitFor(() => expect(last()?.localOnly).toBe(false))
  expect(last()?.version).toBe(1)
  await client.delete(note, id)
  await waitFor(() => expect(last()).toBeNull())
  unmount()
})

it('useRecord: a null id reads nothing', async () => {
  const client = newClient(config.devices[0])
  const { Probe, last } = probe(() => useRecord(note, null))
  const unmount = render(client, createElement(Probe))
  await waitFor(() => expect(last()).toBeNull())
  unmount()
})

it('useQuery: follows local and remote writes, re-renders only when its result changes, subscribes once', async () => {
  const [a, b] = [newClient(config.devices[0]), newClient(config.devices[1])]
  // Counts the live queries made: a query literal made anew on every render must not make a new one.
  let liveCalls = 0
  const counted: Client = {
    ...a,
    live: (model, query) => {
      liveCalls++
      return a.live(model, query)
    },
  }
  const tag = newId().slice(0, 8)
  const { Probe, seen, last } = probe(() => useQuery(note, { where: { owner: tag, priority: { gte: 2 } }, orderBy: 'title' }))
  const unmount = render(counted, createElement(Probe))
  await waitFor(() => expect(last()).toEqual([]))
  await a.create(note, { title: 'b', owner: tag, priority: 3 })
  await a.create(note, { title: 'low', owner: tag, priority: 1 })
  await waitFor(() => expect(last()?.map((r) => r.title)).toEqual(['b']))
  // A write of another device reaches this one through the server.
  await b.create(note, { title: 'a', owner: tag, priority: 5 })
  await b.sync()
  await a.sync()
  await waitFor(() => expect(last()?.map((r) => r.title)).toEqual(['a', 'b']))
  // Writes that leave the result as it was (another model, a record it does not match) render nothing.
  const renders = seen.length
  await a.create(memo, { text: 'unrelated' })
  await a.create(note, { title: 'c', owner: 'someone else', priority: 4 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  expect(seen.length).toBe(renders)
  expect(liveCalls).toBe(1)
  unmount()
})

it('useSyncStatus: ready, then the pending count of local writes, back to zero once synced', async () => {
  const client = newClient(config.devices[0])
  const { Probe, last } = probe(() => useSyncStatus())
  const unmount = render(client, createElement(Probe))
  await waitFor(() => expect(last()?.ready).toBe(true))
  expect(last()?.pending).toBe(0)
  await client.create(note, { title: 'pending' })
  await waitFor(() => expect(last()?.pending).toBe(1))
  await client.sync()
  await waitFor(() => expect(last()?.pending).toBe(0))
  expect(last()?.lastSyncedAt).not.toBeNull()
  unmount()
})

it('useConflicts: lists a conflict that a push opened, and settles it', async () => {
  const [a, b] = [newClient(config.devices[0]), newClient(config.devices[1])]
  const id = newId()
  await a.create(note, { id, title: 'contested', secret: 'base' })
  await a.sync()
  await b.sync()
  // Both devices change the manual field before either hears of the other.
  await a.update(note, id, { secret: 'from a' })
  await b.update(note, id, { secret: 'from b' })
  await a.sync()
  const { Probe, last } = probe(() => useConflicts())
  const unmount = render(b, createElement(Probe))
  await waitFor(() => expect(last()?.loading).toBe(false))
  const before = last()?.conflicts.filter((c) => c.recordId === id) ?? []
  expect(before).toEqual([])
  // b's push answers `conflict`: the hook hears the event and fetches the list again.
  await b.sync()
  await waitFor(() => expect(last()?.conflicts.filter((c) => c.recordId === id).length).toBe(1))
  const conflict = last()?.conflicts.find((c) => c.recordId === id)
  expect(conflict?.fields).toEqual(['secret'])
  expect(conflict?.local).toEqual({ secret: 'from b' })
  expect(conflict?.remote).toEqual({ secret: 'from a' })
  await last()?.resolve(conflict?.id ?? '', 'local')
  await waitFor(() => expect(last()?.conflicts.filter((c) => c.recordId === id)).toEqual([]))
  expect((await b.get(note, id))?.secret).toBe('from b')
  expect(last()?.error).toBeNull()
  unmount()
})

it('useRejections: lists a refused mutation with its reason; discard empties the list', async () => {
  // An older app build, looser than the server's model: the server refuses what it allowed.
  const looseNote = defineModel('note', { fields: { ...note.fields, title: f.string({ max: 1000, default: '' }) } })
  const client = newClient(config.devices[0], [looseNote])
  const { Probe, seen, last } = probe(() => useRejections())
  const unmount = render(client, createElement(Probe))
  await waitFor(() => expect(last()?.rejections).toEqual([]))
  const bad = await client.create(looseNote, { title: 'x'.repeat(300) })
  await client.sync()
  await waitFor(() =>
    expect(last()?.rejections.map((r) => [r.id, r.kind, r.error.code])).toEqual([[bad.id, 'rejected', 'validation_failed']]),
  )
  const renders = seen.length
  await client.sync()
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(seen.length).toBe(renders)
  expect(await last()?.discard()).toBe(1)
  await waitFor(() => expect(last()?.rejections).toEqual([]))
  unmount()
})

it('usePulseClient: a hook outside a provider throws a clear error', async () => {
  let caught: unknown
  class Boundary extends Component<{ children: ReactNode }, { failed: boolean }> {
    override state = { failed: false }
    static getDerivedStateFromError() {
      return { failed: true }
    }
    override componentDidCatch(error: unknown) {
      caught = error
    }
    override render() {
      return this.state.failed ? null : this.props.children
    }
  }
  const Outside = () => {
    usePulseClient()
    return null
  }
  const container = dom.document.createElement('div')
  const root = createRoot(container)
  root.render(createElement(Boundary, null, createElement(Outside)))
  await waitFor(() => expect(String(caught)).toContain('no <PulseProvider'))
  root.unmount()
})

const target = globalThis as { __runHooksSuite?: (config: HooksSuiteConfig) => Promise<SuiteResult[]> }
target.__runHooksSuite = async (given) => {
  config = given
  try {
    return await runCollected()
  } finally {
    for (const client of clients) await client.close()
  }
}
