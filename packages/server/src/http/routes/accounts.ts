/** Users, devices and organizations (PROTOCOL.md §9). Authenticated routes. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Accounts } from '../../accounts/accounts.ts'
import type { Context } from '../../engine/context.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'

const OBJ = { type: 'object', additionalProperties: true }
const LIST = { type: 'object', properties: { items: { type: 'array', items: OBJ } } }

function body(request: { body: unknown }): Record<string, unknown> {
  return typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body)
    ? (request.body as Record<string, unknown>)
    : {}
}

/** Registers the account routes. */
export function registerAccountRoutes(app: FastifyInstance, accounts: Accounts, contextOf: (r: FastifyRequest) => Context): void {
  const tags = ['accounts']
  app.get(
    '/api/users/me',
    { schema: { tags, summary: 'Me, with my organizations', response: { 200: OBJ, 401: ERROR_SCHEMA } } },
    async (r) => accounts.me(contextOf(r).actor),
  )
  app.get('/api/users', { schema: { tags, summary: 'Members of my organizations', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.users(contextOf(r).actor),
  }))
  app.get('/api/devices', { schema: { tags, summary: 'My devices', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.devices(contextOf(r).actor),
  }))
  app.post(
    '/api/devices',
    {
      schema: {
        tags,
        summary: 'Register a device',
        body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 201: OBJ, 422: ERROR_SCHEMA },
      },
    },
    async (r, reply) => reply.code(201).send(await accounts.addDevice(contextOf(r).actor, body(r).name)),
  )
  app.post(
    '/api/orgs',
    {
      schema: {
        tags,
        summary: 'Create an organization; you become its owner',
        body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 201: OBJ },
      },
    },
    async (r, reply) => reply.code(201).send(await accounts.createOrg(contextOf(r).actor, body(r).name)),
  )
  app.get('/api/orgs', { schema: { tags, summary: 'My organizations with my role', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.orgs(contextOf(r).actor),
  }))
  app.post(
    '/api/orgs/:id/members',
    {
      schema: {
        tags,
        summary: 'Add a member or change a role (owners and admins)',
        body: {
          type: 'object',
          properties: { username: { type: 'string' }, role: { type: 'string', enum: ['owner', 'admin', 'member'] } },
          required: ['username'],
        },
        response: { 201: OBJ, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      const { id } = r.params as { id: string }
      return reply.code(201).send(await accounts.addMember(contextOf(r).actor, id, body(r)))
    },
  )
  app.delete(
    '/api/orgs/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member (owners and admins)',
        response: { 204: { type: 'null' }, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      const { id, userId } = r.params as { id: string; userId: string }
      await accounts.removeMember(contextOf(r).actor, id, userId)
      return reply.code(204).send()
    },
  )
}
