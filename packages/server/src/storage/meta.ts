/** Settings of the database itself in `pulse_meta`: storage format, purge watermark, probe. */
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'

/** A setting from `pulse_meta`; undefined when it was never set. */
export async function readMeta(db: Kysely<Database>, key: string): Promise<string | null | undefined> {
  return (await db.selectFrom('pulse_meta').select('value').where('key', '=', key).executeTakeFirst())?.value
}

/** Sets a setting in `pulse_meta`. */
export async function writeMeta(db: Kysely<Database>, key: string, value: string): Promise<void> {
  const updated_at = new Date().toISOString()
  await db
    .insertInto('pulse_meta')
    .values({ key, value, updated_at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at }))
    .execute()
}
