/**
 * The one person both demo pages edit: a fixed id, created by whichever page finds it missing
 * after it has caught up with the server. (A create of an id that exists is handled as an
 * update, §4, so two pages creating it at once is harmless; creating it before catching up
 * could overwrite names typed elsewhere, so no page does.)
 */
import type { Client } from '@pulse/client'
import { person } from '../../../../examples/two-window/person.ts'

/** The shared person's id (a UUIDv7). */
export const SHARED_PERSON_ID = '01900000-0000-7000-8000-00000000d001'

/** How long to wait before trying to catch up again when the server cannot be reached. */
const RETRY_MS = 2_000

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/**
 * Makes sure the shared person exists: at once when the local store has it, else once a sync
 * with the server succeeded (retrying until one does, or `signal` aborts).
 */
export async function ensureSharedPerson(client: Client, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    if (await client.get(person, SHARED_PERSON_ID)) return
    try {
      await client.sync({ signal })
    } catch {
      await pause(RETRY_MS, signal)
      continue
    }
    if (!(await client.get(person, SHARED_PERSON_ID)))
      await client.create(person, { id: SHARED_PERSON_ID, firstName: 'Ada', lastName: 'Lovelace' })
    return
  }
}
