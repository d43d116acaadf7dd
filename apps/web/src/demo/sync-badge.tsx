/** The sync status in one line: connectivity, transport, what waits, when the page last caught up. */
import type { SyncStatus } from '@pulse/client'
import type { ReactNode } from 'react'

function timeOf(iso: string | null): string {
  return iso ? new Date(iso).toLocaleTimeString() : 'never'
}

/** Shows `status`; `data-online` and `data-pending` let tests read it. */
export function SyncBadge({ status }: { status: SyncStatus }): ReactNode {
  const state = !status.ready ? 'loading' : status.online ? 'online' : 'offline'
  return (
    <p id="sync-status" className={`sync-badge ${state}`} data-online={status.online} data-pending={status.pending} aria-live="polite">
      <strong>{state}</strong>
      {status.transport ? ` over ${status.transport}` : ''} · {status.pending} pending
      {status.failed > 0 ? ` · ${status.failed} failed` : ''}
      {status.rejected > 0 ? ` · ${status.rejected} refused` : ''} · last synced {timeOf(status.lastSyncedAt)}
      {status.lastError && !status.online ? <span className="last-error"> · {status.lastError.message}</span> : null}
    </p>
  )
}
