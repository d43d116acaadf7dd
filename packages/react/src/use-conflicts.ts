/**
 * `useConflicts`: the caller's conflicts on the server (PROTOCOL.md §5, fields whose policy is
 * `manual`), and a way to settle them. Conflicts live on the server: the list is fetched on
 * mount, again whenever a push of this client opens a conflict or the client comes back
 * online, and after each resolution.
 */
import type { Client } from '@pulse/client'
import type { Conflict } from '@pulse/core'
import { useCallback, useEffect, useRef, useState } from 'react'
import { usePulseClient } from './pulse-provider.ts'

/** What `useConflicts` returns. */
export interface ConflictsState {
  /** The conflicts, newest list fetched; empty until the first answer. */
  readonly conflicts: readonly Conflict[]
  /** A fetch is under way. */
  readonly loading: boolean
  /** Why the last fetch or resolution failed (offline, signed out…); null after a success. */
  readonly error: Error | null
  /** Fetches the list again. Never rejects: a failure lands in `error`. */
  refresh(): Promise<void>
  /**
   * Settles a conflict (`local`, `remote`, or `custom` with `data`); the resulting record is
   * applied locally, and the list is fetched again. Rejects when the server refuses.
   */
  resolve(id: string, choice: 'local' | 'remote' | 'custom', data?: Record<string, unknown>): Promise<void>
}

/** What `useConflicts` takes. */
export interface UseConflictsOptions {
  /** Which conflicts (default `open`). */
  readonly status?: 'open' | 'resolved'
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/** Calls `listener` when the client goes from offline to online. */
function onReconnect(client: Client, listener: () => void): () => void {
  let online = client.status().online
  return client.subscribeStatus(() => {
    const now = client.status().online
    if (now && !online) listener()
    online = now
  })
}

/** The caller's conflicts, kept fresh, with `resolve` and `refresh`. */
export function useConflicts(options: UseConflictsOptions = {}): ConflictsState {
  const client = usePulseClient()
  const status = options.status ?? 'open'
  const [state, setState] = useState<{ conflicts: readonly Conflict[]; loading: boolean; error: Error | null }>({
    conflicts: [],
    loading: true,
    error: null,
  })
  // Answers can arrive out of order; only the latest request's answer is kept.
  const latest = useRef(0)
  const mounted = useRef(true)

  const refresh = useCallback(async (): Promise<void> => {
    const request = ++latest.current
    setState((s) => ({ ...s, loading: true }))
    try {
      const conflicts = await client.conflicts({ status })
      if (mounted.current && request === latest.current) setState({ conflicts, loading: false, error: null })
    } catch (error) {
      if (mounted.current && request === latest.current) setState((s) => ({ ...s, loading: false, error: asError(error) }))
    }
  }, [client, status])

  useEffect(() => {
    mounted.current = true
    const again = () => {
      void refresh()
    }
    again()
    const stopConflicts = client.on('conflict', again)
    const stopReconnect = onReconnect(client, again)
    return () => {
      mounted.current = false
      stopConflicts()
      stopReconnect()
    }
  }, [client, refresh])

  const resolve = useCallback(
    async (id: string, choice: 'local' | 'remote' | 'custom', data?: Record<string, unknown>): Promise<void> => {
      try {
        await client.resolveConflict(id, choice, data)
      } catch (error) {
        if (mounted.current) setState((s) => ({ ...s, error: asError(error) }))
        throw error
      }
      await refresh()
    },
    [client, refresh],
  )

  return { ...state, refresh, resolve }
}
