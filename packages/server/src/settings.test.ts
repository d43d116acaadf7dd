import { describe, expect, it } from 'vitest'
import { SETTINGS } from './settings.ts'
import { flagsOf, resolveSettings, SettingsError, toStartOptions } from './settings-resolve.ts'

const problemsOf = (fn: () => unknown): readonly string[] => {
  try {
    fn()
  } catch (e) {
    if (e instanceof SettingsError) return e.problems
    throw e
  }
  throw new Error('expected a SettingsError')
}

describe('resolveSettings', () => {
  it('uses the defaults when nothing is set', () => {
    const { values, sources } = resolveSettings()
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(values[name as keyof typeof values], name).toEqual(spec.default)
      expect(sources[name as keyof typeof sources], name).toBe('default')
    }
  })

  it('takes a flag over the environment over the config over the default', () => {
    const config = { port: 1000, auth: { accessTtlSeconds: 600, tokenRatePerSecond: 5 }, realtime: { rateLimit: { burst: 7 } } }
    const env = { PORT: '2000', PULSE_ACCESS_TTL_SECONDS: '300' }
    const { values, sources } = resolveSettings({ config, env, flags: { port: '3000' } })
    expect([values.port, sources.port]).toEqual([3000, 'flag'])
    expect([values['auth.accessTtlSeconds'], sources['auth.accessTtlSeconds']]).toEqual([300, 'env'])
    expect([values['auth.tokenRatePerSecond'], sources['auth.tokenRatePerSecond']]).toEqual([5, 'config'])
    expect([values['realtime.rateLimit.burst'], sources['realtime.rateLimit.burst']]).toEqual([7, 'config'])
    expect([values.host, sources.host]).toEqual(['127.0.0.1', 'default'])
  })

  it('reads text from the environment: empty is unset, lists split on commas, booleans in words, NODE_ENV', () => {
    const { values } = resolveSettings({
      env: {
        PULSE_SECRET: '',
        PULSE_ALLOWED_ORIGINS: ' https://a.example , https://b.example,',
        PULSE_REGISTRATION: 'off',
        NODE_ENV: 'production',
      },
    })
    expect(values['auth.secret']).toBeUndefined()
    expect(values.allowedOrigins).toEqual(['https://a.example', 'https://b.example'])
    expect(values['auth.allowRegistration']).toBe(false)
    expect(values['auth.production']).toBe(true)
    expect(resolveSettings({ env: { NODE_ENV: 'development' } }).values['auth.production']).toBe(false)
    expect(resolveSettings({ flags: { 'auth.allowRegistration': false } }).values['auth.allowRegistration']).toBe(false)
  })

  it('reports every problem at once: unknown keys (with the known ones), wrong types, out of range; never a secret', () => {
    const problems = problemsOf(() =>
      resolveSettings({
        config: { prot: 80, auth: { secret: 42, accesTtlSeconds: 1 }, bodyLimitBytes: 1.5, allowedOrigins: 'https://x' },
        env: { PULSE_WS_RATE_PER_SECOND: '-1' },
      }),
    )
    expect(problems).toEqual([
      expect.stringMatching(/^server\.prot in the config: no such setting \(known: port, host, database, .*, realtime\)$/),
      expect.stringMatching(/^server\.auth\.accesTtlSeconds in the config: no such setting \(known under server\.auth: secret, production/),
      'allowedOrigins (the config): expected a list of at most 100 non-empty texts (as text: comma-separated), got "https://x"',
      'bodyLimitBytes (the config): expected a whole number from 1024 to 1073741824, got 1.5',
      'auth.secret (the config): expected a non-empty text of at most 4096 characters, got something else (not shown)',
      'realtime.rateLimit.perSecond (environment PULSE_WS_RATE_PER_SECOND): expected a whole number from 1 to 1000000, got "-1"',
    ])
  })

  it('refuses a server section that is not an object', () => {
    expect(problemsOf(() => resolveSettings({ config: [1] }))).toEqual(['server in the config: expected an object of settings'])
  })
})

describe('toStartOptions', () => {
  it('puts each value at its StartOptions path and leaves unset ones out', () => {
    const options = toStartOptions(resolveSettings({ config: { auth: { accessTtlSeconds: 600 } } }))
    expect(options.port).toBe(8000)
    expect(options.database).toBe('sqlite:./pulse.db')
    expect('bus' in options).toBe(false)
    expect(options.auth).toMatchObject({ accessTtlSeconds: 600, production: false })
    // Unset: the server decides (open in development, closed in production).
    expect(options.auth && 'allowRegistration' in options.auth).toBe(false)
    expect(options.auth && 'secret' in options.auth).toBe(false)
    expect(options.realtime?.rateLimit).toEqual({ perSecond: 100, burst: 200 })
    expect(options.logger).toEqual({ level: 'info', format: 'auto' })
  })
})

describe('the table', () => {
  it('has one environment variable and one flag per setting, none shared', () => {
    const envs = Object.values(SETTINGS).flatMap((s) => ('env' in s ? [s.env] : []))
    const flags = (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).flatMap((n) => flagsOf(n))
    expect(new Set(envs).size).toBe(envs.length)
    expect(new Set(flags).size).toBe(flags.length)
  })

  it('gives every default a value its own type accepts', () => {
    for (const [name, spec] of Object.entries(SETTINGS)) {
      const type = spec.type as { fromValue(v: unknown): unknown }
      if (spec.default !== undefined) expect(type.fromValue(spec.default), name).toEqual(spec.default)
    }
  })
})
