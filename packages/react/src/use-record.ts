/** `useRecord`: one record by id, re-rendering when it changes locally or remotely. */
import type { LocalRecordOf, ModelRef } from '@pulse/client'
import type { ModelDefinition } from '@pulse/core'
import { useMemo, useSyncExternalStore } from 'react'
import { usePulseClient } from './pulse-provider.ts'

const nothing = {
  subscribe: () => () => {},
  getSnapshot: () => null,
}

/**
 * The record of `model` with this id, with its local flags (`localOnly`, `syncError`):
 * undefined until the local store is loaded, null when there is no such record (or it is
 * deleted, or `id` is null or undefined).
 */
export function useRecord<M extends ModelDefinition>(
  model: ModelRef<M>,
  id: string | null | undefined,
): LocalRecordOf<M> | null | undefined {
  const client = usePulseClient()
  const name = typeof model === 'string' ? model : model.name
  // biome-ignore lint/correctness/useExhaustiveDependencies: the model is keyed by its name
  const live = useMemo(() => (id == null ? nothing : client.liveRecord(model, id)), [client, name, id])
  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot)
}
