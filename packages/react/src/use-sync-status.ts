/** `useSyncStatus`: the client's sync status, re-rendering when it changes. */
import type { SyncStatus } from '@pulse/client'
import { useSyncExternalStore } from 'react'
import { usePulseClient } from './pulse-provider.ts'

/**
 * Where syncing stands: `ready`, `online`, `transport`, `syncing`, `pending` and `failed`
 * counts, `lastSyncedAt`, `lastError`. The snapshot is replaced only when a field changes.
 */
export function useSyncStatus(): SyncStatus {
  const client = usePulseClient()
  return useSyncExternalStore(client.subscribeStatus, client.status, client.status)
}
