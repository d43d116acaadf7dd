/** SqlExecutor on SQLite's writer connection, for migrations. */
import { quoteIdent } from '../naming.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import type { SqliteConnection } from './sqlite-connection.ts'

/** Runs compiled SQL on `conn` (inside the caller's transaction). */
export function createSqliteExecutor(conn: SqliteConnection): SqlExecutor {
  return {
    async query(sql, params = []) {
      return conn.statement(sql).all([...params]) as Record<string, unknown>[]
    },
    async run(sql, params = []) {
      // DDL runs once per migration: no point caching its statements.
      if (params.length === 0) conn.db.exec(sql)
      else conn.statement(sql).run([...params])
    },
    async setColumn(table, column, _columnType, rows) {
      const stmt = conn.statement(`UPDATE ${quoteIdent(table)} SET ${quoteIdent(column)} = ? WHERE "id" = ?`)
      for (const [id, value] of rows) stmt.run(value, id)
    },
  }
}
