import { describe, expect, it } from 'vitest'
import { createMemoryBus } from '../bus/memory-bus.ts'
import type { Actor } from '../engine/context.ts'
import { createAccessWatch, type WatchedSocket } from './access-watch.ts'

const user = (userId: string, deviceId: string): Actor => ({ userId, orgIds: [], deviceId, admin: false })

function socket(actor: Actor, apiTokenId?: string): WatchedSocket & { revoked: string[] } {
  const revoked: string[] = []
  return { actor, apiTokenId, revoked, revoke: (code) => revoked.push(code) }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('access watch', () => {
  it('revokes exactly the sockets a change concerns', async () => {
    const bus = createMemoryBus()
    const watch = createAccessWatch(bus, (e) => {
      throw e
    })
    const adaPhone = socket(user('ada', 'dev_phone'))
    const adaLaptop = socket(user('ada', 'dev_laptop'))
    const bob = socket(user('bob', 'dev_bob'))
    const service = socket({ userId: null, orgIds: ['o1'], deviceId: 'svc', admin: false }, 'tok1')
    for (const s of [adaPhone, adaLaptop, bob, service]) watch.add(s)
    await bus.publishControl({ type: 'session_ended', userId: 'ada', deviceId: 'dev_phone' })
    await bus.publishControl({ type: 'api_token_revoked', tokenId: 'tok2' })
    await tick()
    expect([adaPhone.revoked, adaLaptop.revoked, bob.revoked, service.revoked]).toEqual([['unauthenticated'], [], [], []])
    await bus.publishControl({ type: 'membership_changed', userIds: ['bob', 'carol'] })
    await bus.publishControl({ type: 'api_token_revoked', tokenId: 'tok1' })
    await tick()
    expect([bob.revoked, service.revoked]).toEqual([['scope_changed'], ['unauthenticated']])
    watch.close()
    await bus.close()
  })

  it('leaves a socket that authenticated at the scope epoch after the change (its hello read the new memberships)', async () => {
    const bus = createMemoryBus()
    const watch = createAccessWatch(bus, (e) => {
      throw e
    })
    // The change raised ada's epoch to 5; the message arrives while her hello, which read 5, is under way.
    await bus.publishControl({ type: 'membership_changed', userIds: ['bob', 'ada'], epochs: [2, 5] })
    await tick()
    const current = socket({ ...user('ada', 'dev_1'), scopeEpoch: 5 })
    watch.add(current, 0)
    expect(current.revoked).toEqual([])
    const stale = socket({ ...user('ada', 'dev_2'), scopeEpoch: 4 })
    watch.add(stale, 0)
    expect(stale.revoked).toEqual(['scope_changed'])
    // Live: the next change (epoch 6) reaches the socket that has 5.
    await bus.publishControl({ type: 'membership_changed', userIds: ['ada'], epochs: [6] })
    await tick()
    expect(current.revoked).toEqual(['scope_changed'])
    watch.close()
    await bus.close()
  })

  it('revokes a socket whose hello was under way when the change came, and stops watching a removed one', async () => {
    let t = 1000
    const bus = createMemoryBus()
    const watch = createAccessWatch(
      bus,
      () => {},
      () => t,
    )
    await bus.publishControl({ type: 'membership_changed', userIds: ['ada'] })
    await tick()
    const late = socket(user('ada', 'dev_1'))
    watch.add(late, 900) // its credential was read before the change
    expect(late.revoked).toEqual(['scope_changed'])
    const after = socket(user('ada', 'dev_2'))
    const unwatch = watch.add(after, 1001) // read after it
    expect(after.revoked).toEqual([])
    unwatch()
    t = 2000
    await bus.publishControl({ type: 'membership_changed', userIds: ['ada'] })
    await tick()
    expect(after.revoked).toEqual([])
    watch.close()
    await bus.close()
  })
})
