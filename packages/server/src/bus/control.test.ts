import { describe, expect, it } from 'vitest'
import { isControlMessage, MAX_CONTROL_USER_IDS } from './control.ts'

describe('isControlMessage (what another process may send on the control channel)', () => {
  it('takes the three kinds, epochs beside user ids or none', () => {
    for (const m of [
      { type: 'membership_changed', userIds: ['u1'] },
      { type: 'membership_changed', userIds: ['u1', 'u2'], epochs: [3, 0] },
      { type: 'session_ended', userId: 'u1', deviceId: 'd' },
      { type: 'api_token_revoked', tokenId: 't' },
    ])
      expect(isControlMessage(m), JSON.stringify(m)).toBe(true)
  })

  it('refuses malformed ones: epochs of another length, negative, fractional or unsafe; too many users', () => {
    for (const m of [
      null,
      [],
      { type: 'membership_changed', userIds: [] },
      { type: 'membership_changed', userIds: ['u1'], epochs: [] },
      { type: 'membership_changed', userIds: ['u1'], epochs: [-1] },
      { type: 'membership_changed', userIds: ['u1'], epochs: [1.5] },
      { type: 'membership_changed', userIds: ['u1'], epochs: [2 ** 60] },
      { type: 'membership_changed', userIds: ['u1'], epochs: ['1'] },
      { type: 'membership_changed', userIds: ['u1'], epochs: 1 },
      { type: 'membership_changed', userIds: Array.from({ length: MAX_CONTROL_USER_IDS + 1 }, (_, i) => `u${i}`) },
      { type: 'session_ended', userId: '', deviceId: 'd' },
      { type: 'something_else' },
    ])
      expect(isControlMessage(m), JSON.stringify(m)?.slice(0, 80)).toBe(false)
  })
})
