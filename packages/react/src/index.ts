/**
 * @pulse/react: React bindings over `@pulse/client`. Put a `PulseProvider` with a client at the
 * top; below it, `useQuery` and `useRecord` read live local data, `useSyncStatus` shows where
 * syncing stands, `useConflicts` lists and settles conflicts, and `useRejections` lists the
 * mutations the server refused, with retry and discard. Works with React 18 and 19
 * (`useSyncExternalStore`).
 */
export { PulseProvider, type PulseProviderProps, usePulseClient } from './pulse-provider.ts'
export { type ConflictsState, type UseConflictsOptions, useConflicts } from './use-conflicts.ts'
export { useQuery } from './use-query.ts'
export { useRecord } from './use-record.ts'
export { type RejectionsState, useRejections } from './use-rejections.ts'
export { useSyncStatus } from './use-sync-status.ts'
