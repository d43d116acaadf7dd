/**
 * The server's logs (pino, through fastify): JSON lines for machines, or pino-pretty's
 * colourised lines for a person at a terminal.
 */
import { createRequire } from 'node:module'

/** `pretty`: colourised lines; `json`: one JSON object a line; `auto`: pretty on a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json'

/** How the server logs. */
export interface LoggerSettings {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string
  /** Default `auto`. */
  format?: LogFormat
}

/** What fastify's `logger` option gets. */
export type FastifyLoggerSetting = false | { level: string; transport?: { target: string; options: Record<string, unknown> } }

/**
 * Fastify's logger option for `logger` (absent: info, auto). Pretty logs go through pino's
 * transport (a worker thread running pino-pretty), resolved from this package so that it is
 * found wherever the server is installed.
 */
export function fastifyLogger(
  logger: boolean | LoggerSettings | undefined,
  isTerminal = process.stdout.isTTY === true,
): FastifyLoggerSetting {
  if (logger === false) return false
  const { level, format = 'auto' } = logger === true || logger === undefined ? { level: 'info' } : logger
  if (format === 'json' || (format === 'auto' && !isTerminal)) return { level }
  const target = createRequire(import.meta.url).resolve('pino-pretty')
  return { level, transport: { target, options: { colorize: isTerminal, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
}
