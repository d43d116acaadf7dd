/** `/api/auth/*` (PROTOCOL.md §9): register, login, refresh, logout. Public routes, rate limited. */
import type { FastifyInstance } from 'fastify'
import type { Accounts } from '../../accounts/accounts.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'

const USER = {
  type: 'object',
  properties: { id: { type: 'string' }, username: { type: 'string' }, email: { type: ['string', 'null'] }, isAdmin: { type: 'boolean' } },
}
const PAIR = { access: { type: 'string' }, refresh: { type: 'string' } }
const PUBLIC = { public: true }

function body(request: { body: unknown }): Record<string, unknown> {
  return typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body)
    ? (request.body as Record<string, unknown>)
    : {}
}

/** Registers the auth routes. */
export function registerAuthRoutes(app: FastifyInstance, accounts: Accounts): void {
  app.post('/api/auth/register', {
    config: PUBLIC,
    schema: {
      tags: ['auth'],
      security: [],
      summary: 'Create an account (when the server allows sign-up)',
      body: {
        type: 'object',
        properties: { username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
        required: ['username', 'password'],
      },
      response: { 201: { type: 'object', properties: { user: USER } }, 403: ERROR_SCHEMA, 409: ERROR_SCHEMA, 422: ERROR_SCHEMA },
    },
    handler: async (request, reply) => {
      const b = body(request)
      return reply.code(201).send({ user: await accounts.register({ username: b.username, email: b.email, password: b.password }) })
    },
  })

  app.post('/api/auth/login', {
    config: PUBLIC,
    schema: {
      tags: ['auth'],
      security: [],
      summary: 'Log in: registers (or reuses) a device and issues an access and a refresh token',
      body: {
        type: 'object',
        properties: {
          username: { type: 'string' },
          password: { type: 'string' },
          deviceName: { type: 'string' },
          deviceId: { type: 'string' },
        },
        required: ['username', 'password'],
      },
      response: {
        200: {
          type: 'object',
          properties: { ...PAIR, user: USER, device: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } } },
        },
        401: ERROR_SCHEMA,
        429: ERROR_SCHEMA,
      },
    },
    handler: async (request) => {
      const b = body(request)
      return accounts.login({ username: b.username, password: b.password, deviceName: b.deviceName, deviceId: b.deviceId }, request.ip)
    },
  })

  app.post('/api/auth/refresh', {
    config: PUBLIC,
    schema: {
      tags: ['auth'],
      security: [],
      summary: 'Exchange a refresh token for new tokens; the old one stops working',
      body: { type: 'object', properties: { refresh: { type: 'string' } }, required: ['refresh'] },
      response: { 200: { type: 'object', properties: PAIR }, 401: ERROR_SCHEMA },
    },
    handler: async (request) => accounts.refresh(body(request).refresh),
  })

  app.post('/api/auth/logout', {
    config: PUBLIC,
    schema: {
      tags: ['auth'],
      security: [],
      summary: 'End a session (its refresh token family)',
      body: { type: 'object', properties: { refresh: { type: 'string' } } },
      response: { 204: { type: 'null' } },
    },
    handler: async (request, reply) => {
      await accounts.logout(body(request).refresh)
      return reply.code(204).send()
    },
  })
}
