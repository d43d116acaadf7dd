/** Users and devices (PROTOCOL.md §9). Authenticated routes. Organizations: `orgs.ts`. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Accounts } from '../../accounts/accounts.ts'
import type { Context } from '../../engine/context.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'

const OBJ = { type: 'object', additionalProperties: true }
const LIST = { type: 'object', properties: { items: { type: 'array', items: OBJ } } }

/** The body as an object (anything else reads as empty: each field is then refused by name). */
export function bodyOf(request: { body: unknown }): Record<string, unknown> {
  return typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body)
    ? (request.body as Record<string, unknown>)
    : {}
}

/** Registers the user and device routes. */
export function registerAccountRoutes(app: FastifyInstance, accounts: Accounts, contextOf: (r: FastifyRequest) => Context): void {
  const tags = ['accounts']
  app.get(
    '/api/users/me',
    { schema: { tags, summary: 'Me, with my organizations', response: { 200: OBJ, 401: ERROR_SCHEMA } } },
    async (r) => accounts.me(contextOf(r).actor),
  )
  app.get(
    '/api/users',
    {
      schema: {
        tags,
        summary: 'Members of my organizations (emails shown to owners and admins of a shared organization)',
        response: { 200: LIST },
      },
    },
    async (r) => ({ items: await accounts.users(contextOf(r).actor) }),
  )
  app.get('/api/devices', { schema: { tags, summary: 'My devices', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.devices(contextOf(r).actor),
  }))
  app.post(
    '/api/devices',
    {
      schema: {
        tags,
        summary: 'Register a device (at most 100 per user by default)',
        body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 201: OBJ, 403: ERROR_SCHEMA, 422: ERROR_SCHEMA },
      },
    },
    async (r, reply) => reply.code(201).send(await accounts.addDevice(contextOf(r).actor, bodyOf(r).name)),
  )
  app.delete(
    '/api/devices/:id',
    {
      schema: {
        tags,
        summary: 'Remove one of my devices: its sessions end at once (tokens and open sockets)',
        response: { 204: { type: 'null' }, 404: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      await accounts.removeDevice(contextOf(r).actor, (r.params as { id: string }).id)
      return reply.code(204).send()
    },
  )
}
