/**
 * IndexedDB, typed structurally: only what the IndexedDB store calls, so the client compiles
 * without the DOM library. The browser's `indexedDB` and fake-indexeddb's both fit.
 */

/** A request: `result` once `onsuccess` fires, `error` once `onerror` does. */
export interface IdbRequestLike<T> {
  readonly result: T
  readonly error: unknown
  onsuccess: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
}

/** The request `open` returns. */
export interface IdbOpenRequestLike extends IdbRequestLike<IdbDatabaseLike> {
  onupgradeneeded: ((event: unknown) => void) | null
  onblocked: ((event: unknown) => void) | null
}

/** An index of an object store. */
export interface IdbIndexLike {
  getAll(query?: unknown): IdbRequestLike<unknown[]>
}

/** An object store. */
export interface IdbObjectStoreLike {
  put(value: unknown, key?: unknown): IdbRequestLike<unknown>
  delete(key: unknown): IdbRequestLike<unknown>
  get(key: unknown): IdbRequestLike<unknown>
  getAll(query?: unknown): IdbRequestLike<unknown[]>
  index(name: string): IdbIndexLike
  createIndex(name: string, keyPath: string | string[], options?: { unique?: boolean }): IdbIndexLike
}

/** A transaction. */
export interface IdbTransactionLike {
  readonly error: unknown
  objectStore(name: string): IdbObjectStoreLike
  abort(): void
  oncomplete: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
  onabort: ((event: unknown) => void) | null
}

/** An open database. */
export interface IdbDatabaseLike {
  readonly objectStoreNames: { contains(name: string): boolean }
  createObjectStore(name: string, options?: { keyPath?: string | string[] }): IdbObjectStoreLike
  transaction(names: string | string[], mode: 'readonly' | 'readwrite'): IdbTransactionLike
  close(): void
  onversionchange: ((event: unknown) => void) | null
}

/** The `indexedDB` factory. */
export interface IdbFactoryLike {
  open(name: string, version?: number): IdbOpenRequestLike
}
