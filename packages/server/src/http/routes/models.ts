/**
 * The model REST API (PROTOCOL.md §10): list, create, get, patch, delete and history for every
 * model, each a thin adapter over the engine. Writes take the one write path.
 */
import { type ModelDefinition, PulseError } from '@pulse/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from '../../engine/context.ts'
import type { Engine } from '../../engine/engine.ts'
import { toWire } from '../../engine/records.ts'
import type { StoredRecord } from '../../storage/storage.ts'
import { encodeListCursor, parseListQuery } from '../list-query.ts'
import { createSchema, ERROR_SCHEMA, filterableFields, recordSchema, updateSchema } from '../model-schema.ts'

/** What the routes need: the engine, and how to turn a request into an engine context. */
export interface ModelRoutesOptions {
  engine: Engine
  contextOf(request: FastifyRequest): Context
}

const ID_PARAMS = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] }

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; `*` or absent → undefined. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined || header === '*') return undefined
  const text = Array.isArray(header) ? header.join(',') : header
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(text)
  if (!m) throw new PulseError('bad_request', 'If-Match must name one record version, e.g. If-Match: 3')
  return Number(m[1])
}

function sendRecord(reply: FastifyReply, record: StoredRecord, status = 200): FastifyReply {
  return reply.code(status).header('etag', `"${record.version}"`).send(toWire(record))
}

function errors(...codes: number[]): Record<number, unknown> {
  return Object.fromEntries(codes.map((c) => [c, ERROR_SCHEMA]))
}

function registerModel(app: FastifyInstance, model: ModelDefinition, { engine, contextOf }: ModelRoutesOptions): void {
  const base = `/api/${model.plural}`
  const tags = [model.name]
  const record = recordSchema(model)
  const filters = Object.fromEntries(
    filterableFields(model).map((f) => [f, { type: 'string', description: `equals (${model.specs.get(f)?.kind})` }]),
  )

  app.get(base, {
    schema: {
      tags,
      summary: `List ${model.plural}`,
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          cursor: { type: 'string', description: 'nextCursor of the previous page' },
          orderBy: { type: 'string', description: 'a field, or -field for descending; default createdAt' },
          ...filters,
        },
      },
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: record }, nextCursor: { type: ['string', 'null'] } } },
        ...errors(400),
      },
    },
    handler: async (request) => {
      const { request: list, orderBy } = parseListQuery(model, request.query as Record<string, unknown>)
      const page = await engine.list(contextOf(request), model.name, list)
      return { items: page.records.map(toWire), nextCursor: page.next ? encodeListCursor(orderBy, page.next) : null }
    },
  })

  app.post(base, {
    schema: {
      tags,
      summary: `Create a ${model.name}`,
      body: createSchema(model),
      response: { 201: record, ...errors(400, 409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const { record: created } = await engine.writeOne(contextOf(request), { op: 'create', model: model.name, data: request.body })
      reply.header('location', `${base}/${created.id}`)
      return sendRecord(reply, created, 201)
    },
  })

  app.get(`${base}/:id`, {
    schema: { tags, summary: `Get a ${model.name}`, params: ID_PARAMS, response: { 200: record, ...errors(400, 404) } },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string }
      return sendRecord(reply, await engine.get(contextOf(request), model.name, id))
    },
  })

  app.patch(`${base}/:id`, {
    schema: {
      tags,
      summary: `Update a ${model.name}`,
      description: 'Partial update. With `If-Match: <version>` the update applies only if the record is still at that version.',
      params: ID_PARAMS,
      headers: { type: 'object', properties: { 'if-match': { type: 'string' } } },
      body: updateSchema(model),
      response: { 200: record, ...errors(400, 404, 409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string }
      const ifVersion = parseIfMatch(request.headers['if-match'])
      const { record: updated } = await engine.writeOne(contextOf(request), {
        op: 'update',
        model: model.name,
        id,
        data: request.body,
        ...(ifVersion !== undefined ? { ifVersion } : {}),
      })
      return sendRecord(reply, updated)
    },
  })

  app.delete(`${base}/:id`, {
    schema: {
      tags,
      summary: `Delete a ${model.name} (tombstone)`,
      params: ID_PARAMS,
      response: { 204: { type: 'null' }, ...errors(400, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string }
      const ifVersion = parseIfMatch(request.headers['if-match'])
      await engine.writeOne(contextOf(request), { op: 'delete', model: model.name, id, ...(ifVersion !== undefined ? { ifVersion } : {}) })
      return reply.code(204).send()
    },
  })

  app.get(`${base}/:id/history`, {
    schema: {
      tags,
      summary: `The audit trail of a ${model.name}`,
      params: ID_PARAMS,
      response: {
        200: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  version: { type: 'integer' },
                  op: { type: 'string', enum: ['create', 'update', 'delete', 'resolve', 'restore'] },
                  changes: { type: 'object', additionalProperties: { type: 'object', properties: { old: {}, new: {} } } },
                  userId: { type: ['string', 'null'] },
                  deviceId: { type: ['string', 'null'] },
                  requestId: { type: ['string', 'null'] },
                  at: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
        ...errors(400, 404),
      },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string }
      const entries = await engine.history(contextOf(request), model.name, id)
      return { items: entries.map(({ model: _m, recordId: _r, ...rest }) => rest) }
    },
  })
}

/** Registers the REST routes of every model in the engine's schema. */
export function registerModelRoutes(app: FastifyInstance, options: ModelRoutesOptions): void {
  for (const model of options.engine.schema.models.values()) registerModel(app, model, options)
}
