/**
 * How pg turns PostgreSQL values into JavaScript, per pool (never the global pg.types, which
 * other code in the process may rely on): int8 → number, numeric → string as PostgreSQL prints
 * it (padded to the column's scale), date → 'YYYY-MM-DD', timestamptz → ISO `…Z` with ms,
 * json/jsonb → their text, as SQLite returns JSON (the shared code parses it).
 */
import pg from 'pg'

const OID = { int8: 20, json: 114, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184, jsonb: 3802 } as const

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/

/** A timestamp as PostgreSQL prints it (ISO DateStyle, any zone) as an ISO-8601 UTC string with ms. */
export function parseTimestamp(text: string): string {
  const m = TIMESTAMP.exec(text)
  if (!m) return text // 'infinity', BC dates: Pulse never writes them; pass them through unchanged
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0', os = '0'] = m
  const date = new Date(0)
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), Number(s), Math.floor(Number(`0${frac || '.0'}`) * 1000 + 1e-6))
  const offsetMs = ((Number(oh) * 60 + Number(om)) * 60 + Number(os)) * 1000
  return new Date(date.getTime() - (sign === '-' ? -offsetMs : sign === '+' ? offsetMs : 0)).toISOString()
}

type Parser = (text: string) => unknown

const PARSERS: Record<number, Parser> = {
  [OID.int8]: (text) => Number(text),
  [OID.numeric]: (text) => text,
  [OID.date]: (text) => text,
  [OID.timestamp]: parseTimestamp,
  [OID.timestamptz]: parseTimestamp,
  [OID.json]: (text) => text,
  [OID.jsonb]: (text) => text,
}

/** The `types` option of a pg Pool or Client with Pulse's parsers. */
export const pulseTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): Parser {
    const own = format === 'binary' ? undefined : PARSERS[oid]
    return own ?? (pg.types.getTypeParser(oid, format ?? 'text') as Parser)
  },
}
