/**
 * `pulse serve`: the config's models and settings (overridden by the environment and flags),
 * a banner saying what is served from where, and a graceful stop on SIGTERM/SIGINT.
 */
import { type ResolvedSettings, type RunningServer, resolveSettings, type SettingsInput, startServer, toStartOptions } from '@pulse/server'
import { type LoadedConfig, loadConfig } from './load-config.ts'

/** Redacts the password of a database URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
}

/** The one line `pulse serve` logs once it listens. */
export function bannerOf(server: RunningServer, config: LoadedConfig, settings: ResolvedSettings): string {
  const { database, bus } = settings.values
  return (
    `pulse: serving ${[...config.schema.models.keys()].join(', ')} from ${config.shown} on ${server.url} ` +
    `(database ${redactUrl(database ?? '')}, live changes ${bus ? `over ${redactUrl(bus)}` : 'in-process'}); docs at ${server.url}/api/docs`
  )
}

/** A config and the settings resolved from it, the environment and the flags. */
export interface ServePlan {
  readonly config: LoadedConfig
  readonly settings: ResolvedSettings
}

/** Loads the config and resolves the settings; throws ConfigError or SettingsError. */
export async function planServe(configPath: string | undefined, flags: SettingsInput['flags']): Promise<ServePlan> {
  const config = await loadConfig(configPath)
  return { config, settings: resolveSettings({ config: config.server, env: process.env, flags }) }
}

/**
 * Starts the server, logs the banner, and stops it gracefully on the first SIGTERM or SIGINT
 * (a second one exits at once). Throws what keeps it from starting.
 */
export async function serve({ config, settings }: ServePlan): Promise<RunningServer> {
  const server = await startServer({ schema: config.schema, ...toStartOptions(settings) })
  const log = server.app.log
  log.info(bannerOf(server, config, settings))

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting without waiting`)
      process.exit(1)
    }
    stopping = true
    server.close().then(
      () => {
        log.info('pulse: stopped')
        process.exit(0)
      },
      (error: unknown) => {
        log.error({ err: error }, 'pulse: stopping failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return server
}
