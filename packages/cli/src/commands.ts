/** The `pulse` commands: serve, migrate, init, and the account commands. */
import { isPulseError } from '@pulse/core'
import { createStorage, MigrationRefusedError, resolveSettings, SETTINGS, SecretError, SettingsError } from '@pulse/server'
import { Command } from 'commander'
import { addAccountCommands } from './account-commands.ts'
import { init } from './init.ts'
import { ConfigError, findConfig, type LoadedConfig, loadConfig } from './load-config.ts'
import { planServe, redactUrl, serve } from './serve.ts'
import { addSettingFlags, givenFlags } from './settings-flags.ts'

export { redactUrl }

/** SQLite in the working directory unless `--database`, `DATABASE_URL` or the config say otherwise. */
export const DEFAULT_DATABASE = SETTINGS.database.default
export const DEFAULT_PORT = SETTINGS.port.default

/** A message for a person, for any error a command meets. */
export function describeFailure(error: unknown, database: string): string {
  if (
    error instanceof ConfigError ||
    error instanceof MigrationRefusedError ||
    error instanceof SecretError ||
    error instanceof SettingsError
  )
    return error.message
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'EADDRINUSE') return `the port is already in use: stop the other server or pick another with --port`
  if (code === 'EACCES') return `not allowed to listen on that port: pick one above 1023 with --port`
  if (isPulseError(error) && error.code === 'database_unavailable')
    return `cannot reach the database ${redactUrl(database)}: ${error.message}`
  if (isPulseError(error)) return error.message
  return error instanceof Error ? error.message : String(error)
}

/**
 * The database a command works on: `--database`, else DATABASE_URL, else the config's
 * `server.database` (`loaded`, else the config there is, if any), else ./pulse.db.
 */
async function databaseFor(opts: { database?: string; config?: string }, loaded?: LoadedConfig): Promise<string> {
  const flags = opts.database !== undefined ? { database: opts.database } : {}
  const config = loaded ?? (findConfig(opts.config) !== undefined ? await loadConfig(opts.config) : undefined)
  return resolveSettings({ config: config?.server, env: process.env, flags }).values.database ?? DEFAULT_DATABASE
}

/** Builds the command-line program. */
export function buildProgram(): Command {
  const program = new Command('pulse').description('Pulse: offline-first data sync engine').showHelpAfterError()

  const serveCommand = program
    .command('serve')
    .description(
      'serve the models of ./pulse.config.ts (or --config): REST API, sync (pull, push, WebSocket), OpenAPI docs at /api/docs. ' +
        'Settings come from the flags below, else their environment variables, else `server` in the config, else the defaults.',
    )
    .option('-c, --config <file>', 'the config with the models and settings (default: ./pulse.config.ts)')
  addSettingFlags(serveCommand)
  serveCommand.action(async (opts: { config?: string }) => {
    let database = ''
    try {
      const plan = await planServe(opts.config, givenFlags(serveCommand))
      database = plan.settings.values.database ?? ''
      await serve(plan)
    } catch (e) {
      console.error(`pulse serve: ${describeFailure(e, database)}`)
      process.exitCode = 1
    }
  })

  program
    .command('migrate')
    .description('create or evolve the database tables to match the models')
    .option(
      '-d, --database <url>',
      "postgres://… or a SQLite file (env DATABASE_URL; default: the config's server.database, else sqlite:./pulse.db)",
    )
    .option('-c, --config <file>', 'the config with the models (default: ./pulse.config.ts)')
    .option('--allow-data-loss', 'also apply steps that drop data (removed fields or models, changed types)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: { database?: string; config?: string; allowDataLoss?: boolean; dryRun?: boolean }) => {
      let database = opts.database ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE
      let storage: Awaited<ReturnType<typeof createStorage>> | undefined
      try {
        const config = await loadConfig(opts.config)
        const { schema } = config
        database = await databaseFor(opts, config)
        storage = await createStorage(database)
        const plan = opts.dryRun
          ? await storage.planMigration(schema)
          : await storage.migrate(schema, { allowDataLoss: opts.allowDataLoss === true })
        if (plan.steps.length === 0) console.log('pulse migrate: the database is up to date')
        for (const step of plan.steps)
          console.log(`${plan.applied ? 'applied' : 'would apply'}: ${step.description}${step.destructive ? ' (loses data)' : ''}`)
      } catch (e) {
        console.error(`pulse migrate: ${describeFailure(e, database)}`)
        process.exitCode = 1
      } finally {
        await storage?.close()
      }
    })

  program
    .command('init [dir]')
    .description('start a Pulse app in dir (default: here): a pulse.config.ts with one model, .gitignore entries, and what to run next')
    .action((dir: string | undefined) => {
      try {
        console.log(init(dir ?? '.'))
      } catch (e) {
        console.error(`pulse init: ${e instanceof Error ? e.message : String(e)}`)
        process.exitCode = 1
      }
    })

  addAccountCommands(
    program,
    (opts) => databaseFor(opts),
    (command, error, database) => {
      console.error(`pulse ${command}: ${describeFailure(error, database)}`)
      process.exitCode = 1
    },
  )
  return program
}
