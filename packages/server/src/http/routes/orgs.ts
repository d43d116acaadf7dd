/** Organizations, memberships and invitations (PROTOCOL.md §9). Authenticated routes. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Accounts } from '../../accounts/accounts.ts'
import type { Context } from '../../engine/context.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'
import { bodyOf } from './accounts.ts'

const OBJ = { type: 'object', additionalProperties: true }
const LIST = { type: 'object', properties: { items: { type: 'array', items: OBJ } } }
const NONE = { type: 'null' }
const ROLE = { type: 'string', enum: ['owner', 'admin', 'member'] }
const MEMBER_BODY = { type: 'object', properties: { username: { type: 'string' }, role: ROLE }, required: ['username'] }

/** Registers the organization routes. */
export function registerOrgRoutes(app: FastifyInstance, accounts: Accounts, contextOf: (r: FastifyRequest) => Context): void {
  const tags = ['organizations']
  const actorOf = (r: FastifyRequest) => contextOf(r).actor
  const params = (r: FastifyRequest) => r.params as { id: string; userId: string; invitationId: string }

  app.post(
    '/api/orgs',
    {
      schema: {
        tags,
        summary: 'Create an organization; you become its owner',
        body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 201: OBJ, 422: ERROR_SCHEMA },
      },
    },
    async (r, reply) => reply.code(201).send(await accounts.createOrg(actorOf(r), bodyOf(r).name)),
  )
  app.get('/api/orgs', { schema: { tags, summary: 'My organizations with my role', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.orgs(actorOf(r)),
  }))
  app.delete(
    '/api/orgs/:id',
    {
      schema: {
        tags,
        summary: 'Delete an organization (owners): its memberships, invitations and API tokens end',
        response: { 204: NONE, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      await accounts.deleteOrg(actorOf(r), params(r).id)
      return reply.code(204).send()
    },
  )
  app.post(
    '/api/orgs/:id/members',
    {
      schema: {
        tags,
        summary: "Change a member's role (owners and admins; owners only where an owner is concerned). Non-members join by invitation",
        body: MEMBER_BODY,
        response: { 200: OBJ, 201: OBJ, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 422: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      const { added, ...member } = await accounts.setMember(actorOf(r), params(r).id, bodyOf(r))
      return reply.code(added ? 201 : 200).send(member)
    },
  )
  app.delete(
    '/api/orgs/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member (owners and admins), or leave (yourself); the last owner stays',
        response: { 204: NONE, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      },
    },
    async (r, reply) => {
      await accounts.removeMember(actorOf(r), params(r).id, params(r).userId)
      return reply.code(204).send()
    },
  )
  app.post(
    '/api/orgs/:id/invitations',
    {
      schema: {
        tags,
        summary: 'Invite a username (owners and admins): the same answer whether or not the user exists',
        body: MEMBER_BODY,
        response: { 201: OBJ, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA, 422: ERROR_SCHEMA },
      },
    },
    async (r, reply) => reply.code(201).send(await accounts.invite(actorOf(r), params(r).id, bodyOf(r))),
  )
  app.get(
    '/api/orgs/:id/invitations',
    { schema: { tags, summary: 'Pending invitations (owners and admins)', response: { 200: LIST, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA } } },
    async (r) => ({ items: await accounts.sent(actorOf(r), params(r).id) }),
  )
  app.delete(
    '/api/orgs/:id/invitations/:invitationId',
    {
      schema: { tags, summary: 'Cancel an invitation (owners and admins)', response: { 204: NONE, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA } },
    },
    async (r, reply) => {
      await accounts.cancel(actorOf(r), params(r).id, params(r).invitationId)
      return reply.code(204).send()
    },
  )
  app.get('/api/invitations', { schema: { tags, summary: 'Invitations addressed to me', response: { 200: LIST } } }, async (r) => ({
    items: await accounts.received(actorOf(r)),
  }))
  app.post(
    '/api/invitations/:id/accept',
    { schema: { tags, summary: 'Accept an invitation: I join the organization', response: { 200: OBJ, 404: ERROR_SCHEMA } } },
    async (r) => accounts.accept(actorOf(r), params(r).id),
  )
  app.post(
    '/api/invitations/:id/decline',
    { schema: { tags, summary: 'Decline an invitation', response: { 204: NONE, 404: ERROR_SCHEMA } } },
    async (r, reply) => {
      await accounts.decline(actorOf(r), params(r).id)
      return reply.code(204).send()
    },
  )
}
