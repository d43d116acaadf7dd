/** `useQuery`: a live query's results, re-rendering when local or remote writes change them. */
import type { LocalRecordOf, ModelRef, Query } from '@pulse/client'
import type { ModelDefinition } from '@pulse/core'
import { useMemo, useSyncExternalStore } from 'react'
import { usePulseClient } from './pulse-provider.ts'

/**
 * The records of `model` matching `query` (where, orderBy, limit), kept current: the component
 * re-renders only when the result changes (the same record objects in the same order keep the
 * same array). Undefined until the client's local store is loaded. The query may be a new
 * object on every render: it is compared by value.
 */
export function useQuery<M extends ModelDefinition>(
  model: ModelRef<M>,
  query?: Query<LocalRecordOf<M>>,
): readonly LocalRecordOf<M>[] | undefined {
  const client = usePulseClient()
  const name = typeof model === 'string' ? model : model.name
  const key = query === undefined ? '' : JSON.stringify(query)
  // biome-ignore lint/correctness/useExhaustiveDependencies: the query is keyed by its JSON text, the model by its name
  const live = useMemo(() => client.live(model, query), [client, name, key])
  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot)
}
