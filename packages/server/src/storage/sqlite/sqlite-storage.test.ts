import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isPulseError } from '@pulse/core'
import { runStorageSuite } from '@pulse/server/storage-suite'
import { afterAll, describe, expect, it } from 'vitest'
import { createStorage } from '../index.ts'
import { createSqliteStorage } from './sqlite-storage.ts'

const dir = mkdtempSync(join(tmpdir(), 'pulse-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

runStorageSuite('SQLite file', async () => createSqliteStorage({ filename: join(dir, `suite-${++n}.db`) }))
runStorageSuite('SQLite :memory:', async () => createSqliteStorage({ filename: ':memory:' }))

describe('SQLite storage', () => {
  it('maps an unopenable file to database_unavailable, without SQL in the message', async () => {
    const err = await createSqliteStorage({ filename: join(dir, 'no', 'such', 'dir', 'x.db') }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPulseError(err) && err.code === 'database_unavailable').toBe(true)
    expect((err as Error).message).toMatch(/cannot use the SQLite database/)
  })

  it('answers database_unavailable once closed', async () => {
    const s = await createSqliteStorage({ filename: join(dir, 'closed.db') })
    await s.close()
    const err = await s.probe().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPulseError(err) && err.code === 'database_unavailable').toBe(true)
    await s.close() // a second close is harmless
  })

  it('sees committed writes from the reader connection, in WAL mode', async () => {
    const file = join(dir, 'wal.db')
    const s = await createSqliteStorage({ filename: file })
    await expect(s.probe()).rejects.toThrow() // before migrate: no tables yet
    await s.close()
    const again = await createStorage(`sqlite:${file}`)
    expect(again.kind).toBe('sqlite')
    await again.close()
  })

  it('honours an aborted signal before starting', async () => {
    const s = await createSqliteStorage({ filename: ':memory:' })
    const ac = new AbortController()
    ac.abort()
    await expect(s.transaction(async () => 1, ac.signal)).rejects.toThrow()
    await s.close()
  })
})
