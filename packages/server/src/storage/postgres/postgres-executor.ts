/** SqlExecutor on one PostgreSQL client, for migrations and purges. */
import { quoteIdent } from '../naming.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import type { PgClient } from './postgres-pool.ts'

/** Runs compiled SQL on `client` (inside the caller's transaction). */
export function createPostgresExecutor(client: PgClient): SqlExecutor {
  return {
    async query(sql, params = []) {
      return (await client.query(sql, params)).rows
    },
    async run(sql, params = []) {
      await client.query(sql, params)
    },
    async setColumn(table, column, columnType, rows) {
      // Column types come from the dialect (`numeric(10,2)`, `jsonb`), never from a caller.
      const sql = `UPDATE ${quoteIdent(table)} AS "pulse_old" SET ${quoteIdent(column)} = "pulse_new"."v" FROM unnest($1::text[], $2::${columnType}[]) AS "pulse_new"("id", "v") WHERE "pulse_old"."id" = "pulse_new"."id"`
      await client.query(sql, [rows.map((r) => r[0]), rows.map((r) => r[1])])
    },
  }
}
