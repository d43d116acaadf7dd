/** `pulse createsuperuser`, `pulse createuser`, `pulse token create|list|revoke`. */
import { randomBytes } from 'node:crypto'
import { type Accounts, type Bus, createAccessTokens, createAccounts, createRedisBus, createStorage, type SqlStorage } from '@pulse/server'
import type { Command } from 'commander'
import { ask } from './prompt.ts'

interface DbOption {
  database?: string
  config?: string
}

const DATABASE_HELP = "postgres://… or a SQLite file (env DATABASE_URL; default: the config's server.database, else sqlite:./pulse.db)"
const CONFIG_HELP = 'the config whose server.database to use (default: ./pulse.config.ts when there is one)'

/**
 * Opens the database, makes sure the account tables exist, runs `fn`, closes. With `redis`,
 * access changes (a revoked token) are announced on the bus of the running servers, so their
 * open sockets close at once; without it they notice at their next re-check (10 s).
 */
async function withAccounts<T>(database: string, fn: (accounts: Accounts) => Promise<T>, redis?: string): Promise<T> {
  const storage: SqlStorage = await createStorage(database)
  let bus: Bus | undefined
  const announced: Promise<void>[] = []
  try {
    bus = redis ? await createRedisBus(redis) : undefined
    const control = bus
    // The CLI signs no access tokens; the key only satisfies the service's shape.
    const accounts = createAccounts({
      storage,
      tokens: createAccessTokens(randomBytes(32)),
      allowRegistration: false,
      ...(control
        ? {
            announce: (message) => {
              const sent = control.publishControl(message)
              announced.push(sent)
              return sent
            },
          }
        : {}),
    })
    await accounts.migrate()
    const result = await fn(accounts)
    await Promise.all(announced)
    return result
  } finally {
    await bus?.close()
    await storage.close()
  }
}

/** Adds the account commands to the program. */
export function addAccountCommands(
  program: Command,
  databaseOf: (opts: DbOption) => Promise<string>,
  fail: (command: string, error: unknown, database: string) => void,
): void {
  const userCommand = (name: string, admin: boolean, description: string) => {
    const command = program
      .command(name)
      .description(description)
      .option('-u, --username <name>', 'the username')
      .option('-p, --password <password>', 'the password (env PULSE_PASSWORD; asked for when not given)')
      .option('-e, --email <email>', 'an email address')
      .option('--no-input', 'never prompt: fail when something is missing')
      .option('-d, --database <url>', DATABASE_HELP)
      .option('-c, --config <file>', CONFIG_HELP)
    if (!admin) command.option('--admin', 'make the user an admin')
    command.action(async (opts: DbOption & { username?: string; password?: string; email?: string; input: boolean; admin?: boolean }) => {
      let database = opts.database ?? ''
      try {
        database = await databaseOf(opts)
        const username = opts.username ?? (opts.input ? await ask('Username: ') : undefined)
        const password = opts.password ?? process.env.PULSE_PASSWORD ?? (opts.input ? await ask('Password: ', true) : undefined)
        if (!username || !password) throw new Error('--username and --password are required with --no-input')
        const user = await withAccounts(database, (a) =>
          a.createUser({ username, password, email: opts.email, admin: admin || opts.admin === true }),
        )
        console.log(`created ${user.isAdmin ? 'admin' : 'user'} ${user.username} (${user.id})`)
      } catch (e) {
        fail(name, e, database)
      }
    })
  }
  userCommand('createsuperuser', true, 'create an admin user (asks for what is missing unless --no-input)')
  userCommand('createuser', false, 'create a user (asks for what is missing unless --no-input)')

  const token = program.command('token').description('API tokens for services (x-auth-token)')
  token
    .command('create')
    .description('create a token for an organization (--org) or with admin rights (--admin); it is shown once')
    .requiredOption('-n, --name <name>', 'what the token is for')
    .option('--org <id>', 'the organization the token acts in')
    .option('--admin', 'full access to every record')
    .option('-d, --database <url>', DATABASE_HELP)
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: DbOption & { name: string; org?: string; admin?: boolean }) => {
      let database = opts.database ?? ''
      try {
        database = await databaseOf(opts)
        const created = await withAccounts(database, (a) =>
          a.createApiToken({ name: opts.name, ...(opts.org ? { orgId: opts.org } : {}), admin: opts.admin === true }),
        )
        console.log(
          `token ${created.row.id} (${created.row.isAdmin ? 'admin' : `org ${created.row.orgId}`}), shown only now:\n${created.token}`,
        )
      } catch (e) {
        fail('token create', e, database)
      }
    })
  token
    .command('list')
    .description('list tokens (never their secret)')
    .option('-d, --database <url>', DATABASE_HELP)
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: DbOption) => {
      let database = opts.database ?? ''
      try {
        database = await databaseOf(opts)
        const rows = await withAccounts(database, (a) => a.listApiTokens())
        if (rows.length === 0) console.log('no tokens')
        for (const r of rows) {
          console.log(
            `${r.id}  ${r.name}  ${r.isAdmin ? 'admin' : `org ${r.orgId}`}  created ${r.createdAt}` +
              `  last used ${r.lastUsedAt ?? 'never'}${r.revokedAt ? `  revoked ${r.revokedAt}` : ''}`,
          )
        }
      } catch (e) {
        fail('token list', e, database)
      }
    })
  token
    .command('revoke <id>')
    .description('revoke a token: its requests fail at once; its open sockets close at once with --redis, else within 10 s')
    .option('-d, --database <url>', DATABASE_HELP)
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--redis <url>', "the running servers' Redis (env REDIS_URL), to close the token's open sockets at once")
    .action(async (id: string, opts: DbOption & { redis?: string }) => {
      let database = opts.database ?? ''
      try {
        database = await databaseOf(opts)
        await withAccounts(database, (a) => a.revokeApiToken(id), opts.redis ?? (process.env.REDIS_URL || undefined))
        console.log(`revoked ${id}`)
      } catch (e) {
        fail('token revoke', e, database)
      }
    })
}
