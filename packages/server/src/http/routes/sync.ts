/**
 * The sync protocol over HTTP (PROTOCOL.md §3–§5): pull, push, and conflicts. Thin: decode,
 * call the engine, encode.
 */
import { isUuid, MAX_PULL_LIMIT, PulseError, parseHlc, parsePushRequest } from '@pulse/core'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type ConflictPosition, MAX_CONFLICTS_LISTED } from '../../engine/conflict-list.ts'
import type { Context } from '../../engine/context.ts'
import type { Engine } from '../../engine/engine.ts'
import { encodePage } from '../../engine/pull.ts'
import { toWire } from '../../engine/records.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'

/** What the sync routes need. */
export interface SyncRoutesOptions {
  engine: Engine
  contextOf(request: FastifyRequest): Context
}

const RECORD = { type: 'object', additionalProperties: true }
const CHANGE = {
  type: 'object',
  properties: { model: { type: 'string' }, record: RECORD, removed: { type: 'boolean' } },
  required: ['model', 'record'],
}
const CONFLICT = { type: 'object', additionalProperties: true }

function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new PulseError('bad_request', `give ${name} once`)
  return v
}

/** A conflict listing's cursor: where its page ended, as an opaque string. */
function encodeConflictCursor(position: ConflictPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url')
}

function decodeConflictCursor(text: string): ConflictPosition {
  let value: unknown
  try {
    value = text.length <= 200 ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : undefined
  } catch {
    value = undefined
  }
  if (Array.isArray(value) && value.length === 2) {
    const [createdAt, id] = value as unknown[]
    if (typeof createdAt === 'string' && parseHlc(createdAt) && isUuid(id)) return { createdAt, id: id.toLowerCase() }
  }
  throw new PulseError('bad_request', 'cursor is not one this server handed out')
}

/** Registers `/api/sync/*`. */
export function registerSyncRoutes(app: FastifyInstance, { engine, contextOf }: SyncRoutesOptions): void {
  app.get('/api/sync/pull', {
    schema: {
      tags: ['sync'],
      summary: 'Changes in your scope after a cursor (§3)',
      description:
        'A page holds at most `limit` changes and at most the server\u2019s byte bound of records (default 4 MiB; a larger record comes alone); `hasMore` says another page follows.',
      querystring: {
        type: 'object',
        properties: {
          cursor: { type: 'string', description: 'the cursor of your last pull; none for everything' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PULL_LIMIT, default: 500 },
          models: { type: 'string', description: 'comma-separated model names (selective sync)' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: { changes: { type: 'array', items: CHANGE }, cursor: { type: 'string' }, hasMore: { type: 'boolean' } },
        },
        400: ERROR_SCHEMA,
        410: ERROR_SCHEMA,
      },
    },
    handler: async (request, reply) => {
      const query = request.query as Record<string, unknown>
      const limitText = single(query, 'limit')
      if (limitText !== undefined && !/^\d{1,5}$/.test(limitText)) throw new PulseError('bad_request', `limit is 1 to ${MAX_PULL_LIMIT}`)
      const models = single(query, 'models')
      if (models?.split(',').some((m) => m === '')) throw new PulseError('bad_request', 'models is a comma-separated list of model names')
      await engine.pull(
        contextOf(request),
        {
          cursor: single(query, 'cursor') ?? null,
          ...(limitText !== undefined ? { limit: Number(limitText) } : {}),
          ...(models !== undefined ? { models: models.split(',') } : {}),
        },
        // Handed to the socket while the page still counts against the pull budget (§3): the
        // changes, each serialised once (wire-cache.ts), concatenated; as bytes, what waits for
        // a slow reader sits outside the JavaScript heap.
        (page) => {
          reply.type('application/json; charset=utf-8').send(encodePage(page))
        },
      )
      return reply
    },
  })

  app.post('/api/sync/push', {
    schema: {
      tags: ['sync'],
      summary: 'Apply a device\u2019s mutations exactly once (§4)',
      body: {
        type: 'object',
        properties: { clientId: { type: 'string' }, mutations: { type: 'array', items: { type: 'object', additionalProperties: true } } },
        required: ['clientId', 'mutations'],
      },
      response: {
        200: {
          type: 'object',
          properties: {
            lastMid: { type: 'integer' },
            results: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  mid: { type: 'integer' },
                  status: { type: 'string', enum: ['applied', 'merged', 'conflict', 'stale', 'duplicate', 'rejected'] },
                  record: RECORD,
                  conflict: CONFLICT,
                  error: {
                    type: 'object',
                    properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
                  },
                  replayed: { type: 'boolean', enum: [true], description: 'the mid was already recorded: the first answer again (§4)' },
                },
              },
            },
          },
        },
        400: ERROR_SCHEMA,
        413: ERROR_SCHEMA,
      },
    },
    handler: async (request) => engine.push(contextOf(request), parsePushRequest(request.body)),
  })

  app.get('/api/sync/conflicts', {
    schema: {
      tags: ['sync'],
      summary: 'Conflicts of records you may read, newest first (§5)',
      querystring: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['open', 'resolved'] },
          mine: { type: 'string', enum: ['true', 'false'], description: 'only conflicts your own pushes opened' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_CONFLICTS_LISTED, default: MAX_CONFLICTS_LISTED },
          cursor: { type: 'string', description: 'the nextCursor of the previous page' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: { items: { type: 'array', items: CONFLICT }, nextCursor: { type: ['string', 'null'] } },
        },
        400: ERROR_SCHEMA,
      },
    },
    handler: async (request) => {
      const query = request.query as Record<string, unknown>
      const status = single(query, 'status')
      if (status !== undefined && status !== 'open' && status !== 'resolved')
        throw new PulseError('bad_request', 'status is open or resolved')
      const mine = single(query, 'mine')
      if (mine !== undefined && mine !== 'true' && mine !== 'false') throw new PulseError('bad_request', 'mine is true or false')
      const limitText = single(query, 'limit')
      const limit = limitText === undefined ? undefined : Number(limitText)
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_CONFLICTS_LISTED))
        throw new PulseError('bad_request', `limit is 1 to ${MAX_CONFLICTS_LISTED}`)
      const cursor = single(query, 'cursor')
      const page = await engine.listConflicts(contextOf(request), {
        ...(status ? { status } : {}),
        ...(mine === 'true' ? { mine: true } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(cursor !== undefined ? { after: decodeConflictCursor(cursor) } : {}),
      })
      return { items: page.items, nextCursor: page.next ? encodeConflictCursor(page.next) : null }
    },
  })

  app.post('/api/sync/conflicts/:id/resolve', {
    schema: {
      tags: ['sync'],
      summary: 'Settle a conflict: keep local, remote, or custom values (§5)',
      params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } },
      body: {
        type: 'object',
        properties: {
          choice: { type: 'string', enum: ['local', 'remote', 'custom'] },
          data: { type: 'object', additionalProperties: true },
        },
        required: ['choice'],
      },
      response: {
        200: { type: 'object', properties: { conflict: CONFLICT, record: RECORD } },
        400: ERROR_SCHEMA,
        404: ERROR_SCHEMA,
        409: ERROR_SCHEMA,
      },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string }
      const body = request.body as { choice?: unknown; data?: unknown } | null
      const choice = body?.choice
      if (choice !== 'local' && choice !== 'remote' && choice !== 'custom')
        throw new PulseError('bad_request', 'choice is local, remote or custom')
      const { conflict, record } = await engine.resolveConflict(contextOf(request), id, choice, body?.data)
      return { conflict, record: toWire(record) }
    },
  })
}
