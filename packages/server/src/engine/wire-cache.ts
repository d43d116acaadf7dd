/**
 * The wire form of each change, serialised once (issue 12): a commit's records are encoded as
 * pull changes (`{"model":…,"record":{…}}`, PROTOCOL.md §3) when they commit, and a pull page
 * is then the change-order read plus a concatenation of these strings, with no record read and
 * no serialisation for the records found here. Records a pull had to load are kept too.
 *
 * Correct under updates: an entry is keyed by record and holds the state committed at one
 * change-order position; a pull uses it only for the change-order row at exactly that position
 * (and version). Positions are never reused (docs/change-order.md), so a record purged and
 * created again under the same id, whose versions start over, never meets a stale entry; a
 * later position replaces an earlier one, never the reverse. Scope is still decided per reader: an entry carries the owner and
 * organization of its version. Models with a read rule (a function of the whole record) are
 * never cached: their records are loaded and checked as before.
 *
 * Bounded: at most `maxBytes` (default 64 MiB) of entries, counted as their encoded bytes (held
 * outside the JavaScript heap) plus a fixed cost per entry for the entry object, the buffer's
 * header and the map slot. Eviction is second-chance (a clock): the oldest entry goes unless it
 * was used since it was last passed over, so a hit costs one map read. An entry larger than a
 * sixteenth of the bound is not kept.
 */
import type { ModelDefinition } from '@pulse/core'
import type { StoredRecord } from '../storage/storage.ts'
import { toWire } from './records.ts'
import { type RecordScope, scopeOf } from './scope.ts'

/** Default bound of the cache, in bytes. */
export const DEFAULT_WIRE_CACHE_BYTES = 64 * 1024 * 1024
/** What an entry costs beyond its bytes: the entry object, the Buffer object, the map slot and key. */
const ENTRY_OVERHEAD_BYTES = 256

/** One record's change, encoded. */
export interface WireEntry {
  model: string
  version: number
  /** The change-order position this state was committed at. */
  seq: number
  /** `{"model":…,"record":{…}}` in UTF-8, as a pull page carries it. */
  json: Buffer
  /** The owner and organization of this version, for per-reader scope (§8). */
  scope: RecordScope
  /** What it counts against the bound. */
  cost: number
  /** Used since the clock last passed it. */
  used: boolean
}

/** The cache of one process. */
export interface WireCache {
  /** The entry of the record as committed at position `seq` (with this version), if held. */
  get(model: string, id: string, seq: number, version: number): WireEntry | undefined
  /**
   * Encodes a record's change as committed at position `seq` and keeps it (unless a later
   * position is held); returns it. `seq` undefined: encoded, not kept (a state whose position
   * is not known).
   */
  put(model: ModelDefinition, record: StoredRecord, seq: number | undefined): WireEntry
  /** Bytes held now (at most the bound). */
  readonly size: number
  /** Entries held now. */
  readonly count: number
}

/** The pull change of a record, encoded. */
export function encodeChange(model: string, record: StoredRecord): Buffer {
  const text = JSON.stringify({ model, record: toWire(record) })
  // Its own memory, not a slice of Node's shared pool: an evicted entry frees what it counted.
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text))
  bytes.write(text)
  return bytes
}

/** A cache of at most `maxBytes` (0 keeps nothing: every call encodes afresh). */
export function createWireCache(maxBytes: number = DEFAULT_WIRE_CACHE_BYTES): WireCache {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`a wire cache bound is a byte count, got ${maxBytes}`)
  // By record id (the model is checked on the entry: ids are unique in practice, and two
  // records sharing one only take turns). Insertion order is the clock's order.
  const entries = new Map<string, WireEntry>()
  let size = 0

  const remove = (id: string, entry: WireEntry): void => {
    entries.delete(id)
    size -= entry.cost
  }

  return {
    get(model, id, seq, version) {
      const entry = entries.get(id)
      if (!entry || entry.seq !== seq || entry.version !== version || entry.model !== model) return undefined
      entry.used = true
      return entry
    },
    put(model, record, seq) {
      const json = encodeChange(model.name, record)
      const entry: WireEntry = {
        model: model.name,
        version: record.version,
        seq: seq ?? -1,
        json,
        scope: scopeOf(model, record.values),
        cost: json.length + ENTRY_OVERHEAD_BYTES,
        used: false,
      }
      // A record larger than a sixteenth of the bound is not kept: a few huge ones would flush the rest.
      if (seq === undefined || model.rules.read || entry.cost > maxBytes / 16) return entry
      const held = entries.get(record.id)
      if (held) {
        if (held.seq > seq) return entry
        remove(record.id, held)
      }
      entries.set(record.id, entry)
      size += entry.cost
      while (size > maxBytes) {
        const oldest = entries.entries().next()
        if (oldest.done) break
        const [id, e] = oldest.value
        entries.delete(id)
        if (e.used) {
          // A second chance: to the back of the clock.
          e.used = false
          entries.set(id, e)
        } else size -= e.cost
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
