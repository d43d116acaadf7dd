import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type RestartableServer, startRestartableServer, testClient } from './support/client-harness.ts'
import { note, syncSchema } from './support/sync-models.ts'

const models = [...syncSchema.models.values()]

describe('client basics', () => {
  let server: RestartableServer
  beforeAll(async () => {
    server = await startRestartableServer(syncSchema)
  })
  afterAll(async () => {
    await server.stop()
  })

  it('a create on one client reaches another over the socket', async () => {
    const a = testClient(server.url, models)
    const b = testClient(server.url, models)
    await a.ready
    await b.ready
    const created = await a.create(note, { title: 'hello' })
    expect(created.localOnly).toBe(true)
    await eventually(async () => (await b.get(note, created.id))?.title === 'hello', 'b sees the note')
    await eventually(async () => (await a.get(note, created.id))?.localOnly === false, 'a acknowledged')
    expect(a.status().transport).toBe('websocket')
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    await a.close()
    await b.close()
  })
})
