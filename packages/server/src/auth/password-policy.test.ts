import { describe, expect, it } from 'vitest'
import { checkPasswordPolicy, commonPasswords } from './password-policy.ts'
import { estimateSecretBits, weakSecretReason } from './secret.ts'

describe('password policy', () => {
  it('bundles a few thousand common passwords', () => {
    expect(commonPasswords().size).toBeGreaterThanOrEqual(5000)
    expect(commonPasswords().has('12345678')).toBe(true)
  })

  it('refuses short, long, blank, common, ill-formed passwords and the username; accepts a passphrase', () => {
    for (const bad of [
      'short',
      'x'.repeat(257),
      ' \t \n    ',
      'Password',
      'iloveyou',
      'ada-lovelace',
      'good \ud800 password',
      'nul\u0000password',
    ])
      expect(() => checkPasswordPolicy(bad, 'Ada-Lovelace'), bad).toThrow(/password/)
    expect(checkPasswordPolicy('correct horse battery staple', 'ada')).toBe('correct horse battery staple')
  })
})

describe('secret strength', () => {
  it('sees no entropy in repetition and plenty in random text', () => {
    expect(estimateSecretBits('a'.repeat(32))).toBe(0)
    expect(weakSecretReason('a'.repeat(32))).toBeDefined()
    expect(weakSecretReason('Tr0ub4dor&3'.repeat(4))).toBeDefined()
    expect(weakSecretReason('zyxwvutsrqponmlkjihgfedcbaZYXWVUTS')).toBeDefined()
    expect(weakSecretReason('q8Wv3Lz0Xp7Rk2Nd5Hs9Tm4Bj6Fy1GcA')).toBeUndefined()
  })
})
