import { describe, expect, it } from 'vitest'
import { parseTimestamp } from './postgres-types.ts'

describe('PostgreSQL values', () => {
  it('parses PostgreSQL timestamps into ISO strings with milliseconds', () => {
    expect(parseTimestamp('2026-11-23 10:00:00.123+00')).toBe('2026-11-23T10:00:00.123Z')
    expect(parseTimestamp('2026-11-23 10:00:00+01:30')).toBe('2026-11-23T08:30:00.000Z')
    expect(parseTimestamp('0001-01-01 00:00:00+00')).toBe('0001-01-01T00:00:00.000Z')
    expect(parseTimestamp('9999-12-31 23:59:59.999999+00')).toBe('9999-12-31T23:59:59.999Z')
  })
})
