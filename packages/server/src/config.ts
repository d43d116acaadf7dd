/** The application's configuration file (`pulse.config.ts`): its models, declared once, and the server's settings. */
import { defineSchema, type ModelDefinition, PulseError, type Schema } from '@pulse/core'
import type { ServerSettings } from './settings.ts'

/** What a `pulse.config.ts` exports by default. */
export interface PulseConfig {
  /** The synced models. */
  readonly models: readonly ModelDefinition[]
  /** Shown in logs and the OpenAPI document. */
  readonly name?: string
  /**
   * Server settings (settings.ts; the README lists them with their defaults). Environment
   * variables and `pulse serve` flags override them; secrets belong in the environment.
   */
  readonly server?: ServerSettings
}

/** Declares a configuration; returns it unchanged, typed. */
export function defineConfig(config: PulseConfig): PulseConfig {
  return config
}

/** Checks a loaded configuration and builds its schema; throws a clear error when malformed. */
export function schemaOf(config: unknown): Schema {
  const models = (config as { models?: unknown } | undefined)?.models
  if (!Array.isArray(models) || models.length === 0) {
    throw new PulseError('bad_request', 'the configuration must export default { models: [...] } with at least one model')
  }
  return defineSchema(models as ModelDefinition[])
}
