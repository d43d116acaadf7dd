/**
 * One window of seed 001's demo: the shared person's two names, one editable here, the other
 * read-only (edited in the other window). Every keystroke is a local write: shown at once,
 * kept in IndexedDB, and synced to the server, which sends it to the other window live.
 */
import type { LocalRecordOf } from '@pulse/client'
import { usePulseClient, useRecord, useSyncStatus } from '@pulse/react'
import { type ReactNode, useState } from 'react'
import { person } from '../../../../examples/two-window/person.ts'
import { SHARED_PERSON_ID } from './shared-person.ts'
import { SyncBadge } from './sync-badge.tsx'

type NameField = 'firstName' | 'lastName'

const LABELS: Record<NameField, string> = { firstName: 'First name', lastName: 'Last name' }

/** What a window shows and edits. */
export interface TwoWindowDemoProps {
  /** `window1` or `window2`. */
  readonly page: string
  readonly title: string
  /** The name this window edits; the other one is read-only here. */
  readonly editable: NameField
  /** The other window's path, for the link. */
  readonly otherPage: string
}

function NameInput(props: { field: NameField; record: LocalRecordOf<typeof person>; editable: boolean; onEdit: (value: string) => void }) {
  const { field, record, editable, onEdit } = props
  return (
    <label className={editable ? 'field editable' : 'field read-only'}>
      <span>
        {LABELS[field]} {editable ? '' : '(read-only: edited in the other window)'}
      </span>
      <input
        id={field}
        name={field}
        value={record[field]}
        readOnly={!editable}
        autoComplete="off"
        maxLength={100}
        onChange={editable ? (e) => onEdit(e.target.value) : undefined}
      />
    </label>
  )
}

/** One window of the demo. */
export function TwoWindowDemo({ page, title, editable, otherPage }: TwoWindowDemoProps): ReactNode {
  const client = usePulseClient()
  const record = useRecord(person, SHARED_PERSON_ID)
  const status = useSyncStatus()
  const [writeError, setWriteError] = useState<string | null>(null)
  const other: NameField = editable === 'firstName' ? 'lastName' : 'firstName'

  const edit = (value: string) => {
    // The local write applies at once (the input re-renders with it); it rejects only when
    // the value is invalid.
    client.update(person, SHARED_PERSON_ID, { [editable]: value }).then(
      () => setWriteError(null),
      (e: unknown) => setWriteError(e instanceof Error ? e.message : String(e)),
    )
  }

  return (
    <main className={`demo ${page}`}>
      <header>
        <h1>{title}</h1>
        <SyncBadge status={status} />
      </header>
      <p className="hint">
        Edit the {LABELS[editable].toLowerCase()} here; the {LABELS[other].toLowerCase()} is edited in{' '}
        <a href={otherPage}>the other window</a>. Changes are saved on this device at once and synced live, also after going offline and
        back.
      </p>
      {record ? (
        <form className="person" onSubmit={(e) => e.preventDefault()} data-version={record.version} data-local-only={record.localOnly}>
          <NameInput field="firstName" record={record} editable={editable === 'firstName'} onEdit={edit} />
          <NameInput field="lastName" record={record} editable={editable === 'lastName'} onEdit={edit} />
          {writeError ? <p className="error">{writeError}</p> : null}
          {record.syncError ? <p className="error">The server refused the last change: {record.syncError.message}</p> : null}
        </form>
      ) : (
        <p className="loading">{record === undefined ? 'Opening the local store…' : 'Waiting for the server to find the shared person…'}</p>
      )}
    </main>
  )
}
