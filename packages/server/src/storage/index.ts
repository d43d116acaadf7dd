/**
 * Pulse's storage: the Storage seam and its SQLite and PostgreSQL implementations.
 */
import { fileURLToPath } from 'node:url'
import { createPostgresStorage, type PostgresStorageOptions } from './postgres/postgres-storage.ts'
import { createSqliteStorage } from './sqlite/sqlite-storage.ts'
import type { SqlStorage } from './storage.ts'

export { createPostgresStorage, type PostgresStorageOptions } from './postgres/postgres-storage.ts'
export { createSqliteStorage, type SqliteStorageOptions } from './sqlite/sqlite-storage.ts'
export * from './storage.ts'

/** Options of `createStorage` that apply to PostgreSQL URLs only. */
export type StorageUrlOptions = Pick<PostgresStorageOptions, 'schema' | 'poolSize' | 'onError'>

/** The SQLite file a URL names: `sqlite:<path>`, `sqlite://<path>`, `file:<path>`, `file:///abs`, or a plain path. */
export function sqliteFilename(url: string): string {
  if (url.startsWith('file://')) return fileURLToPath(url)
  if (url.startsWith('file:')) return url.slice('file:'.length)
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length)
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length)
  return url
}

/**
 * Opens the storage a URL names: `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:<path>`,
 * `file:<path>` or a plain path is SQLite (`sqlite::memory:` for a private in-memory database).
 */
export async function createStorage(url: string, options: StorageUrlOptions = {}): Promise<SqlStorage> {
  if (/^postgres(ql)?:\/\//i.test(url)) return createPostgresStorage({ connectionString: url, ...options })
  const filename = sqliteFilename(url)
  if (filename === '') throw new Error(`no SQLite file in the database URL "${url}"`)
  return createSqliteStorage({ filename })
}
