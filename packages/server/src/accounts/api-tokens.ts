/**
 * API tokens (PROTOCOL.md §9): services' credentials, for one organization or with admin
 * rights, created and revoked with the CLI (or with their organization), stored hashed.
 * Revoking one stops it at once: its next request fails, and its open sockets close (the bus
 * carries the revocation to every process).
 */
import { isUuid, PulseError, uuidv7 } from '@pulse/core'
import { hashToken, newOpaqueToken } from '../auth/opaque-token.ts'
import type { Actor } from '../engine/context.ts'
import type { AccountDeps, Authenticated } from './account-deps.ts'
import { displayName } from './account-input.ts'
import { findOrg } from './org-store.ts'
import * as store from './token-store.ts'

/** `last_used_at` is written at most this often per token (not once per request). */
export const LAST_USED_RESOLUTION_MS = 60_000
/** Tokens whose last write this process remembers (beyond it, the stored time decides). */
const MAX_REMEMBERED_TOKENS = 10_000
/**
 * How long a process trusts an API token it read without reading it again (issue 12: a
 * service's every request read its token). A revocation is not waited for: it evicts the token
 * at once in the revoking process and, through the bus's control channel, in every other; this
 * bound only covers a revocation whose message never arrived (no bus between the processes).
 */
export const API_TOKEN_CACHE_MS = 1000
/** Tokens a process keeps read at most (the least recently read is dropped first): about 2 MB. */
export const MAX_CACHED_API_TOKENS = 10_000

const notValid = () => new PulseError('unauthenticated', 'the API token is not valid or was revoked')

function actorOf(row: store.ApiTokenRow): Authenticated {
  return {
    actor: { userId: null, orgIds: row.orgId ? [row.orgId] : [], deviceId: null, admin: row.isAdmin, tokenId: row.id },
    credential: { kind: 'api', tokenId: row.id },
  }
}

/** The API-token part of the accounts service. */
export function createApiTokens(deps: AccountDeps) {
  const { sql, read } = deps
  // When this process last wrote each token's last_used_at (ms), oldest first.
  const written = new Map<string, number>()
  // Live tokens read lately, by the hash of the token (never the token), oldest read first.
  const cached = new Map<string, { row: store.ApiTokenRow; at: number }>()
  // Raised by every revocation heard: a read that started before one is not cached (it may
  // have seen the token just before its revocation committed).
  let revocations = 0

  function forget(tokenId: string): void {
    revocations += 1
    for (const [hash, entry] of cached) if (entry.row.id === tokenId) cached.delete(hash)
  }

  /** Writes `last_used_at` when it is a minute old, in the background; never on every request. */
  function noteUse(row: store.ApiTokenRow): void {
    const at = deps.now()
    const t = at.getTime()
    const stored = row.lastUsedAt ? Date.parse(row.lastUsedAt) : 0
    if (t - Math.max(stored, written.get(row.id) ?? 0) < LAST_USED_RESOLUTION_MS) return
    written.delete(row.id)
    written.set(row.id, t)
    if (written.size > MAX_REMEMBERED_TOKENS) {
      const oldest = written.keys().next()
      if (!oldest.done) written.delete(oldest.value)
    }
    sql((db) => store.touchApiToken(db, row.id, at.toISOString())).catch(deps.onError)
  }

  return {
    /** The actor of a presented API token (shape already checked), noting its use. */
    async actorForApiToken(token: string): Promise<Authenticated> {
      const hash = hashToken(token)
      const hit = cached.get(hash)
      const t = deps.now().getTime()
      if (hit && t - hit.at < API_TOKEN_CACHE_MS && t >= hit.at) {
        noteUse(hit.row)
        return actorOf(hit.row)
      }
      const before = revocations
      const row = await read((db) => store.findApiToken(db, hash))
      cached.delete(hash)
      if (!row || row.revokedAt) throw notValid()
      if (before === revocations) {
        cached.set(hash, { row, at: t })
        if (cached.size > MAX_CACHED_API_TOKENS) {
          const oldest = cached.keys().next()
          if (!oldest.done) cached.delete(oldest.value)
        }
      }
      noteUse(row)
      return actorOf(row)
    },

    /** Forgets a revoked token at once (this process's revocations, and other processes' heard on the bus). */
    forgetApiToken: forget,

    /** The actor of an API token by id, read again (an open socket's re-check). */
    async actorForApiTokenId(id: string): Promise<Actor> {
      const row = await read((db) => store.findApiTokenById(db, id))
      if (!row || row.revokedAt) throw notValid()
      return actorOf(row).actor
    },

    /** Creates an API token (CLI); the token is shown once. */
    async createApiToken(input: { name: string; orgId?: string; admin?: boolean }): Promise<{ token: string; row: store.ApiTokenRow }> {
      if (!input.admin && !input.orgId)
        throw new PulseError('bad_request', 'an API token is for an organization (--org) or admin (--admin)')
      if (input.orgId !== undefined && !isUuid(input.orgId)) throw new PulseError('not_found', 'no such organization')
      const token = newOpaqueToken('pat_')
      const row: store.ApiTokenRow = {
        id: uuidv7(),
        name: displayName(input.name, 'name', 100),
        orgId: input.orgId ?? null,
        isAdmin: input.admin === true,
        createdAt: deps.now().toISOString(),
        revokedAt: null,
        lastUsedAt: null,
      }
      await sql(async (db) => {
        if (row.orgId && !(await findOrg(db, row.orgId))) throw new PulseError('not_found', 'no such organization')
        await store.insertApiToken(db, { ...row, tokenHash: hashToken(token) })
      })
      return { token, row }
    },

    /** Every API token, newest first (never their secret). */
    listApiTokens: () => read((db) => store.listApiTokens(db)),

    /** Revokes an API token: refused at once by every request, its sockets closed. */
    async revokeApiToken(id: string): Promise<void> {
      if (!isUuid(id) || !(await sql((db) => store.revokeApiToken(db, id, deps.now().toISOString()))))
        throw new PulseError('not_found', 'no such live API token')
      // Forgotten once committed (a request reading it meanwhile does not keep it), here and,
      // through the bus, in every other process.
      forget(id)
      deps.announce({ type: 'api_token_revoked', tokenId: id })
    },
  }
}
