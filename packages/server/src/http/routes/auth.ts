/**
 * `/api/auth/*` (PROTOCOL.md §9): register, login, refresh, logout. Public routes; logins are
 * throttled per account and address (`accounts/login-throttle.ts`), by the client's address as
 * `trustProxy` allows.
 */
import type { FastifyInstance } from 'fastify'
import type { Accounts } from '../../accounts/accounts.ts'
import { ERROR_SCHEMA } from '../model-schema.ts'
import { bodyOf as body } from './accounts.ts'

const USER = {
  type: 'object',
  properties: { id: { type: 'string' }, username: { type: 'string' }, email: { type: ['string', 'null'] }, isAdmin: { type: 'boolean' } },
}
const PAIR = { access: { type: 'string' }, refresh: { type: 'string' } }
const PUBLIC = { public: true }

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
      description:
        'Usernames are compared case-insensitively. Passwords: 8 to 256 characters, not only whitespace, not the username, not a common password.',
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
      description:
        'Failed logins are slowed per account and address: after 5, each attempt waits 1 s, 2 s, 4 s … (at most 5 minutes); an address may fail 100 times per 15 minutes. A caller who must wait gets 429 with retry-after.',
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
        403: ERROR_SCHEMA,
        422: ERROR_SCHEMA,
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
      summary: "Sign the refresh token's device out: its refresh and access tokens stop working and its sockets close, at once",
      body: { type: 'object', properties: { refresh: { type: 'string' } } },
      response: { 204: { type: 'null' } },
    },
    handler: async (request, reply) => {
      await accounts.logout(body(request).refresh)
      return reply.code(204).send()
    },
  })
}
