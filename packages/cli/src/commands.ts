/** The `pulse` commands: serve, migrate, and the account commands. */
import { isPulseError } from '@pulse/core'
import { createStorage, MigrationRefusedError, SecretError, startServer } from '@pulse/server'
import { Command, InvalidArgumentError } from 'commander'
import { addAccountCommands } from './account-commands.ts'
import { ConfigError, loadConfig } from './load-config.ts'

/** SQLite in the working directory unless `--database` or `DATABASE_URL` says otherwise. */
export const DEFAULT_DATABASE = 'sqlite:./pulse.db'
export const DEFAULT_PORT = 8000

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d{1,5}$/.test(text) || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535')
  return port
}

/** Redacts the password of a database URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
}

/** A message for a person, for any error a command meets. */
export function describeFailure(error: unknown, database: string): string {
  if (error instanceof ConfigError || error instanceof MigrationRefusedError || error instanceof SecretError) return error.message
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'EADDRINUSE') return `the port is already in use: stop the other server or pick another with --port`
  if (code === 'EACCES') return `not allowed to listen on that port: pick one above 1023 with --port`
  if (isPulseError(error) && error.code === 'database_unavailable')
    return `cannot reach the database ${redactUrl(database)}: ${error.message}`
  if (isPulseError(error)) return error.message
  return error instanceof Error ? error.message : String(error)
}

/** `--registration` / `--no-registration` win over PULSE_REGISTRATION=on|off; neither: the server's default. */
function registrationOf(flag: boolean | undefined, env: string | undefined): { allowRegistration?: boolean } {
  if (flag !== undefined) return { allowRegistration: flag }
  if (env === 'on' || env === 'off') return { allowRegistration: env === 'on' }
  return {}
}

/** `--trust-proxy true` or a comma-separated list of addresses/CIDRs. */
function trustProxyOf(value: string | undefined): { trustProxy?: boolean | string } {
  if (!value) return {}
  return { trustProxy: value === 'true' ? true : value }
}

/** Builds the command-line program. */
export function buildProgram(): Command {
  const program = new Command('pulse').description('Pulse: offline-first data sync engine').showHelpAfterError()

  program
    .command('serve')
    .description('serve the models over REST (and, as they arrive, sync, WebSocket and GraphQL)')
    .option('-p, --port <port>', 'port to listen on (env PORT)', parsePort)
    .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
    .option('-d, --database <url>', 'postgres://… or a SQLite file (env DATABASE_URL)')
    .option('-c, --config <file>', 'pulse.config.ts with the models (default: the tasks example)')
    .option('--redis <url>', 'redis://… to share live changes with other pulse serve processes (env REDIS_URL)')
    .option('--allowed-origins <list>', 'comma-separated browser origins allowed besides same-origin (env PULSE_ALLOWED_ORIGINS)')
    .option('--registration', 'open self-service sign-up, even in production (env PULSE_REGISTRATION=on)')
    .option('--no-registration', 'close self-service sign-up (env PULSE_REGISTRATION=off); closed by default in production')
    .option(
      '--trust-proxy <list>',
      'proxies whose X-Forwarded-For gives the client address: "true" or addresses/CIDRs (env PULSE_TRUST_PROXY)',
    )
    .action(
      async (opts: {
        port?: number
        host: string
        database?: string
        config?: string
        redis?: string
        allowedOrigins?: string
        registration?: boolean
        trustProxy?: string
      }) => {
        const database = opts.database ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE
        const port = opts.port ?? (process.env.PORT ? parsePort(process.env.PORT) : DEFAULT_PORT)
        // Without Redis the bus is in-process: fine for one process, not for several.
        const redis = opts.redis ?? (process.env.REDIS_URL || undefined)
        try {
          const { schema } = await loadConfig(opts.config)
          const origins = (opts.allowedOrigins ?? process.env.PULSE_ALLOWED_ORIGINS ?? '')
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean)
          const server = await startServer({
            schema,
            database,
            port,
            host: opts.host,
            ...(redis ? { bus: redis } : {}),
            allowedOrigins: origins,
            ...trustProxyOf(opts.trustProxy ?? process.env.PULSE_TRUST_PROXY),
            ...(process.env.PULSE_DOCS ? { docs: process.env.PULSE_DOCS === 'on' } : {}),
            auth: {
              ...(process.env.PULSE_SECRET ? { secret: process.env.PULSE_SECRET } : {}),
              production: process.env.NODE_ENV === 'production',
              // Unset: open in development, closed in production.
              ...registrationOf(opts.registration, process.env.PULSE_REGISTRATION),
            },
          })
          server.app.log.info(
            `pulse: serving ${[...schema.models.keys()].join(', ')} on ${server.url} (database ${redactUrl(database)}, ` +
              `live changes ${redis ? `over ${redactUrl(redis)}` : 'in-process'}); docs at ${server.url}/api/docs`,
          )
          const stop = () => {
            server.close().then(
              () => process.exit(0),
              () => process.exit(1),
            )
          }
          process.once('SIGINT', stop)
          process.once('SIGTERM', stop)
        } catch (e) {
          console.error(`pulse serve: ${describeFailure(e, database)}`)
          process.exitCode = 1
        }
      },
    )

  program
    .command('migrate')
    .description('create or evolve the database tables to match the models')
    .option('-d, --database <url>', 'postgres://… or a SQLite file (env DATABASE_URL)')
    .option('-c, --config <file>', 'pulse.config.ts with the models (default: the tasks example)')
    .option('--allow-data-loss', 'also apply steps that drop data (removed fields or models, changed types)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: { database?: string; config?: string; allowDataLoss?: boolean; dryRun?: boolean }) => {
      const database = opts.database ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE
      let storage: Awaited<ReturnType<typeof createStorage>> | undefined
      try {
        const { schema } = await loadConfig(opts.config)
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

  addAccountCommands(
    program,
    (opts) => opts.database ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE,
    (command, error, database) => {
      console.error(`pulse ${command}: ${describeFailure(error, database)}`)
      process.exitCode = 1
    },
  )
  return program
}
