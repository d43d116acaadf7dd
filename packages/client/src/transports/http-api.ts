/**
 * The sync protocol over HTTP (PROTOCOL.md §3–§5): pull, push, conflicts. Every call has a
 * timeout and takes an AbortSignal. A call the server answered with an error rejects with its
 * PulseError (§7 body); one it did not answer at all rejects with a NetworkError; an answer
 * that is not what the protocol says (checked with core's parsers) rejects with a ProtocolError.
 */
import {
  type Conflict,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  parseConflict,
  parsePullResponse,
  parsePushResponse,
  parseWireRecord,
  type WireRecord,
} from '@pulse/core'
import { NetworkError, ProtocolError, serverError } from '../errors.ts'
import { type AbortSignalLike, abortController, abortError, type Clock, type FetchLike, type ResponseLike } from '../platform.ts'
import { type AuthProvider, authHeaders } from './auth.ts'

/** What `createHttpApi` takes. */
export interface HttpApiOptions {
  /** The server's base URL, e.g. `https://sync.example.com`. */
  baseUrl: string
  fetch: FetchLike
  auth?: AuthProvider
  /** How long a call may take before it counts as unanswered. */
  timeoutMs: number
  clock: Clock
}

/** A pull request (§3). */
export interface PullRequest {
  cursor: string | null
  limit: number
  models?: readonly string[]
}

/** The sync calls over HTTP. */
export interface HttpApi {
  pull(request: PullRequest, signal?: AbortSignalLike): Promise<PullResponse>
  push(request: PushRequest, signal?: AbortSignalLike): Promise<PushResponse>
  listConflicts(status: 'open' | 'resolved' | undefined, signal?: AbortSignalLike): Promise<Conflict[]>
  resolveConflict(
    id: string,
    body: { choice: 'local' | 'remote' | 'custom'; data?: Record<string, unknown> },
    signal?: AbortSignalLike,
  ): Promise<{ conflict: Conflict; record: WireRecord }>
}

function errorOf(status: number, text: string): Error {
  let body: { error?: { code?: unknown; message?: unknown } } | undefined
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    body = undefined
  }
  if (body?.error) return serverError(body.error.code, body.error.message)
  // Not a Pulse answer (a proxy's error page): 5xx may pass, anything else will not.
  return serverError(status >= 500 ? 'internal_error' : 'bad_request', `the server answered ${status}`)
}

/** The HTTP side of the protocol, against `options.baseUrl`. */
export function createHttpApi(options: HttpApiOptions): HttpApi {
  const base = options.baseUrl.replace(/\/+$/, '')

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignalLike | undefined,
    parse: (answer: unknown) => T,
  ): Promise<T> {
    if (signal?.aborted) throw signal.reason ?? abortError(`${method} ${path}`)
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(await options.auth?.()) }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const controller = abortController()
    let timedOut = false
    const cancelTimer = options.clock.after(options.timeoutMs, () => {
      timedOut = true
      controller.abort()
    })
    const onAbort = () => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    let response: ResponseLike
    let text: string
    try {
      response = await options.fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: controller.signal,
      })
      text = await response.text()
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? abortError(`${method} ${path}`)
      const why = timedOut ? `no answer within ${options.timeoutMs} ms` : e instanceof Error ? e.message : String(e)
      throw new NetworkError(`${method} ${base}${path}: ${why}`)
    } finally {
      cancelTimer()
      signal?.removeEventListener('abort', onAbort)
    }
    if (!response.ok) throw errorOf(response.status, text)
    let answer: unknown
    try {
      answer = JSON.parse(text)
    } catch {
      throw serverError('internal_error', `${method} ${path} answered ${response.status} with a body that is not JSON`)
    }
    try {
      return parse(answer)
    } catch (e) {
      throw new ProtocolError(`${method} ${path}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  return {
    pull({ cursor, limit, models }, signal) {
      const query = queryString({ cursor, limit: String(limit), models: models && models.length > 0 ? models.join(',') : null })
      return call('GET', `/api/sync/pull?${query}`, undefined, signal, (answer) => parsePullResponse(answer))
    },
    push(request, signal) {
      return call('POST', '/api/sync/push', request, signal, (answer) => parsePushResponse(answer))
    },
    listConflicts(status, signal) {
      return call('GET', `/api/sync/conflicts${status ? `?status=${status}` : ''}`, undefined, signal, conflictList)
    },
    resolveConflict(id, body, signal) {
      return call('POST', `/api/sync/conflicts/${encodeURIComponent(id)}/resolve`, body, signal, resolution)
    },
  }
}

function conflictList(answer: unknown): Conflict[] {
  const items = (answer as { items?: unknown } | null)?.items
  if (!Array.isArray(items)) throw new Error('the conflict list has no items array')
  return items.map((item, i) => parseConflict(item, `items[${i}]`))
}

function resolution(answer: unknown): { conflict: Conflict; record: WireRecord } {
  const { conflict, record } = (answer ?? {}) as { conflict?: unknown; record?: unknown }
  return { conflict: parseConflict(conflict), record: parseWireRecord(record) }
}

/** A query string of the non-null parameters (URLSearchParams is not in the ES library). */
function queryString(params: Record<string, string | null>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&')
}
