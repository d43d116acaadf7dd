/**
 * The wire form of each change, serialised once (issue 12): a commit's records are encoded as
 * pull changes (`{"model":…,"record":{…}}`, PROTOCOL.md §3) when they commit, and a pull page
 * is then the change-order read plus a concatenation of these strings, with no record read and
 * no serialisation for the records found here. Records a pull had to load are kept too.
 *
 * Correct under updates: an entry is keyed by model and id and holds one version; a pull uses it
 * only for a change-order row of exactly that version (a record's state at a version never
 * changes: every accepted change makes a new one, §1), and a newer state replaces an older one,
 * never the reverse. Scope is still decided per reader: an entry carries the owner and
 * organization of its version. Models with a read rule (a function of the whole record) are
 * never cached: their records are loaded and checked as before.
 *
 * Bounded: at most `maxBytes` (default 64 MiB) of entries, counted as the string bytes V8 holds
 * (one byte a character for Latin-1 text, two otherwise) plus a fixed cost per entry for the
 * key, the entry object and its map slot; the least recently used go first. An entry larger than
 * a sixteenth of the bound is not kept.
 */
import type { ModelDefinition } from '@pulse/core'
import type { StoredRecord } from '../storage/storage.ts'
import { toWire } from './records.ts'
import { type RecordScope, scopeOf } from './scope.ts'

/** Default bound of the cache, in bytes. */
export const DEFAULT_WIRE_CACHE_BYTES = 64 * 1024 * 1024
/** What an entry costs beyond its strings: the entry object, the map slot, the numbers. */
const ENTRY_OVERHEAD_BYTES = 96

/** One record's change, encoded. */
export interface WireEntry {
  version: number
  /** `{"model":…,"record":{…}}`, as a pull page carries it. */
  json: string
  /** Its UTF-8 length: what it adds to a page. */
  bytes: number
  /** The owner and organization of this version, for per-reader scope (§8). */
  scope: RecordScope
  /** What it counts against the bound. */
  cost: number
}

/** The cache of one process. */
export interface WireCache {
  /** The entry of exactly this version of the record, if held (and marks it recently used). */
  get(model: string, id: string, version: number): WireEntry | undefined
  /** Encodes a record's change and keeps it (unless a newer version is held); returns it. */
  put(model: ModelDefinition, record: StoredRecord): WireEntry
  /** Bytes held now (at most the bound). */
  readonly size: number
  /** Entries held now. */
  readonly count: number
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false
  return true
}

/** The pull change of a record, encoded. */
export function encodeChange(model: string, record: StoredRecord): string {
  return JSON.stringify({ model, record: toWire(record) })
}

/** A cache of at most `maxBytes` (0 keeps nothing: every call encodes afresh). */
export function createWireCache(maxBytes: number = DEFAULT_WIRE_CACHE_BYTES): WireCache {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`a wire cache bound is a byte count, got ${maxBytes}`)
  // Insertion order is recency order: a hit moves its entry to the end.
  const entries = new Map<string, WireEntry>()
  let size = 0

  const remove = (key: string, entry: WireEntry): void => {
    entries.delete(key)
    size -= entry.cost
  }

  return {
    get(model, id, version) {
      const key = `${model}\u0000${id}`
      const entry = entries.get(key)
      if (!entry || entry.version !== version) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry
    },
    put(model, record) {
      const key = `${model.name}\u0000${record.id}`
      const json = encodeChange(model.name, record)
      const latin1 = isLatin1(json)
      const entry: WireEntry = {
        version: record.version,
        json,
        bytes: latin1 ? Buffer.byteLength(json) : Buffer.byteLength(json, 'utf8'),
        scope: scopeOf(model, record.values),
        cost: (latin1 ? json.length : json.length * 2) + key.length * 2 + ENTRY_OVERHEAD_BYTES,
      }
      // A record larger than a sixteenth of the bound is not kept: a few huge ones would flush the rest.
      if (model.rules.read || entry.cost > maxBytes / 16) return entry
      const held = entries.get(key)
      if (held) {
        if (held.version > record.version) return entry
        remove(key, held)
      }
      entries.set(key, entry)
      size += entry.cost
      while (size > maxBytes) {
        const oldest = entries.entries().next()
        if (oldest.done) break
        remove(oldest.value[0], oldest.value[1])
      }
      return entry
    },
    get size() {
      return size
    },
    get count() {
      return entries.size
    },
  }
}
