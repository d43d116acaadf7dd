import { describe, expect, it } from 'vitest'
import { fastifyLogger } from './logger.ts'

describe('fastifyLogger', () => {
  it('auto: pretty (pino-pretty, colourised) on a terminal, JSON lines otherwise', () => {
    const pretty = fastifyLogger({ level: 'debug', format: 'auto' }, true)
    expect(pretty).toMatchObject({ level: 'debug', transport: { options: { colorize: true } } })
    expect(pretty ? pretty.transport?.target : undefined).toMatch(/pino-pretty/)
    expect(fastifyLogger({ level: 'debug', format: 'auto' }, false)).toEqual({ level: 'debug' })
    expect(fastifyLogger(undefined, false)).toEqual({ level: 'info' })
  })

  it('json and pretty are what they say wherever the output goes; false is silence', () => {
    expect(fastifyLogger({ level: 'info', format: 'json' }, true)).toEqual({ level: 'info' })
    expect(fastifyLogger({ level: 'info', format: 'pretty' }, false)).toMatchObject({ transport: { options: { colorize: false } } })
    expect(fastifyLogger(false, true)).toBe(false)
  })
})
