/**
 * JSON Schemas derived from model definitions, for the OpenAPI document and response
 * serialisation. Validation itself is core's (`validateCreate` / `validateUpdate`), the same
 * rules on every path, so these schemas describe rather than decide.
 */
import type { FieldSpec, ModelDefinition } from '@pulse/core'

type JsonSchema = Record<string, unknown>

function valueSchema(spec: FieldSpec): JsonSchema {
  switch (spec.kind) {
    case 'string':
      return { type: 'string', maxLength: spec.maxLength }
    case 'text':
      return { type: 'string' }
    case 'boolean':
      return { type: 'boolean' }
    case 'integer':
      return {
        type: 'integer',
        ...(spec.min !== undefined ? { minimum: spec.min } : {}),
        ...(spec.max !== undefined ? { maximum: spec.max } : {}),
      }
    case 'decimal':
      return { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$', description: `decimal(${spec.precision},${spec.scale}) as a string` }
    case 'datetime':
      return { type: 'string', format: 'date-time' }
    case 'date':
      return { type: 'string', format: 'date' }
    case 'enum':
      return { type: 'string', enum: spec.values }
    case 'json':
      return {}
    case 'set':
      return { type: 'array', items: { type: 'string' }, uniqueItems: true }
    case 'ref':
    case 'owner':
    case 'org':
      return { type: 'string', format: 'uuid' }
  }
}

function fieldSchema(spec: FieldSpec): JsonSchema {
  const base = valueSchema(spec)
  const described = spec.description ? { ...base, description: spec.description } : base
  if (!spec.nullable || spec.kind === 'json') return described
  const t = described.type
  return typeof t === 'string'
    ? { ...described, type: [t, 'null'], ...(described.enum ? { enum: [...(described.enum as string[]), null] } : {}) }
    : described
}

/** The schema of a record of the model as it travels (§1). */
export function recordSchema(model: ModelDefinition): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    id: { type: 'string', format: 'uuid' },
    version: { type: 'integer', minimum: 1 },
    vclock: { type: 'object', additionalProperties: { type: 'integer' } },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    deletedAt: { type: ['string', 'null'], format: 'date-time' },
  }
  for (const [name, spec] of model.specs) properties[name] = fieldSchema(spec)
  return {
    type: 'object',
    ...(model.description ? { description: model.description } : {}),
    properties,
    required: Object.keys(properties),
  }
}

/** The schema of a create body: required fields required, an optional client-made id. */
export function createSchema(model: ModelDefinition): JsonSchema {
  const properties: Record<string, JsonSchema> = { id: { type: 'string', format: 'uuid', description: 'optional; UUIDv7 preferred' } }
  const required: string[] = []
  for (const [name, spec] of model.specs) {
    properties[name] = fieldSchema(spec)
    if (spec.required && spec.kind !== 'owner' && spec.kind !== 'org') required.push(name)
  }
  return { type: 'object', properties, required, additionalProperties: false }
}

/** The schema of a partial update body. */
export function updateSchema(model: ModelDefinition): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  for (const [name, spec] of model.specs) properties[name] = fieldSchema(spec)
  return { type: 'object', properties, additionalProperties: false, minProperties: 1 }
}

/** Fields a list may be filtered and ordered by (json and set values are not comparable). */
export function filterableFields(model: ModelDefinition): string[] {
  return [...model.specs].filter(([, s]) => s.kind !== 'json' && s.kind !== 'set').map(([n]) => n)
}

/** The §7 error body schema. */
export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', additionalProperties: true } },
      },
      required: ['code', 'message'],
    },
    requestId: { type: 'string' },
  },
  required: ['error', 'requestId'],
}
