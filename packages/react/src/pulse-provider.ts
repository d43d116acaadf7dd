/**
 * The client a component tree uses: `<PulseProvider client={client}>` above, `usePulseClient()`
 * (and every hook of this package) below. The provider does not own the client: whoever made
 * it closes it.
 */
import type { Client } from '@pulse/client'
import { createContext, createElement, type ReactNode, useContext } from 'react'

const PulseContext = createContext<Client | null>(null)
PulseContext.displayName = 'PulseContext'

/** What `PulseProvider` takes. */
export interface PulseProviderProps {
  /** A client made by `createClient`. */
  readonly client: Client
  readonly children?: ReactNode
}

/** Makes `client` the one the hooks below use. */
export function PulseProvider({ client, children }: PulseProviderProps): ReactNode {
  return createElement(PulseContext.Provider, { value: client }, children)
}

/** The client of the nearest `PulseProvider`; throws when there is none. */
export function usePulseClient(): Client {
  const client = useContext(PulseContext)
  if (!client) throw new Error('usePulseClient: no <PulseProvider client={…}> above this component')
  return client
}
