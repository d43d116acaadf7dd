/** `useRejections`: the client's refused mutations, live, with the way to send them again or drop them. */
import type { Rejection } from '@pulse/client'
import { useMemo, useSyncExternalStore } from 'react'
import { usePulseClient } from './pulse-provider.ts'

/** What `useRejections` returns. */
export interface RejectionsState {
  /** Mutations the server refused (`kind: 'rejected'`) or that gave up (`kind: 'failed'`), oldest first, each with its `error`. */
  readonly rejections: readonly Rejection[]
  /** Sends them again (those with these `mid`s, or all); resolves with how many. */
  retry(mids?: readonly number[]): Promise<number>
  /** Forgets them (those with these `mid`s, or all): their records show the server's state; resolves with how many. */
  discard(mids?: readonly number[]): Promise<number>
}

/**
 * The refused mutations of the client, re-rendering when the list changes (not on every sync):
 * what an app shows as "this change was refused: why, and retry or dismiss".
 */
export function useRejections(): RejectionsState {
  const client = usePulseClient()
  const rejections = useSyncExternalStore(client.subscribeRejections, client.rejections, client.rejections)
  return useMemo(() => ({ rejections, retry: client.retryRejections, discard: client.discardRejections }), [client, rejections])
}
