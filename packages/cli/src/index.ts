/** @pulse/cli: the `pulse` command, importable for tests and embedding. */
export { buildProgram, DEFAULT_DATABASE, DEFAULT_PORT, describeFailure, redactUrl } from './commands.ts'
export { IGNORED, init, STARTER_CONFIG } from './init.ts'
export { CONFIG_NAMES, ConfigError, findConfig, type LoadedConfig, loadConfig, showPath } from './load-config.ts'
export { bannerOf, planServe, type ServePlan, serve } from './serve.ts'
export { addSettingFlags, givenFlags } from './settings-flags.ts'
