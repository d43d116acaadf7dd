/** @pulse/cli: the `pulse` command, importable for tests and embedding. */
export { buildProgram, DEFAULT_DATABASE, DEFAULT_PORT, describeFailure, redactUrl } from './commands.ts'
export { ConfigError, DEFAULT_CONFIG, loadConfig } from './load-config.ts'
