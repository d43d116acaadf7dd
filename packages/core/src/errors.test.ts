import { describe, expect, it } from 'vitest'
import { ClientAction, ERROR_CODES, isPulseError, PulseError } from './errors.ts'

describe('the error table', () => {
  it('gives every code a status, an action and (where it ends a socket) a close code', () => {
    const actions = Object.values(ClientAction) as string[]
    for (const [code, row] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/)
      expect(row.status, code).toBeGreaterThanOrEqual(400)
      expect(row.status, code).toBeLessThan(600)
      expect(actions, code).toContain(row.action)
      expect(row.description.length, code).toBeGreaterThan(10)
      if ('closeCode' in row) expect([1009, 4401, 4403, 4408, 4409, 4429], code).toContain(row.closeCode)
    }
  })

  it('matches PulseErrors by name and code, not by class identity', () => {
    const e = new PulseError('not_found', 'gone')
    expect(e.status).toBe(404)
    expect(isPulseError(e)).toBe(true)
    expect(isPulseError({ name: 'PulseError', code: 'not_found', message: 'from another bundle' })).toBe(true)
    expect(isPulseError({ name: 'PulseError', code: 'no_such_code' })).toBe(false)
    expect(isPulseError(new Error('x'))).toBe(false)
  })
})
