/**
 * The edits the convergence fuzz test (test/convergence.fuzz.test.ts) makes, as data so
 * fast-check can print and shrink them, and how they become concrete field values.
 */
import fc from 'fast-check'

// Edits, as data (so fast-check can print and shrink them); made concrete against the local
// record when they run.

export const WORDS = ['red', 'green', 'blue', 'fox', 'dog', 'cat'] as const
export const MEMBERS = ['a', 'b', 'c', 'd', 'e'] as const

export type TextEdit = { op: 'set' | 'insert' | 'replace' | 'remove'; pos: number; words: string[] }
export type SetEdit = { op: 'add' | 'remove' | 'set'; members: string[] }

/** Changes to some fields of a note, one per merge policy. */
export interface NoteEdits {
  title?: string // lww
  body?: TextEdit // text
  priority?: number // max
  price?: string | null // min (decimal)
  due?: string | null // min (date)
  tags?: SetEdit // union
  status?: 'todo' | 'doing' | 'done' // state
  owner?: string | null // serverWins
  color?: string | null // clientWins
  secret?: string | null // manual
  score?: number // custom additive counter: a delta
}

export type Invalid = 'wrongType' | 'tooLong' | 'badEnum' | 'unknownModel' | 'unknownField'

export type Edit =
  | { kind: 'create'; model: 'note' | 'memo'; note: NoteEdits; memo: string }
  | { kind: 'update'; pick: number; note: NoteEdits; memo: string }
  | { kind: 'delete'; pick: number }
  | { kind: 'recreate'; pick: number; note: NoteEdits; memo: string }
  | { kind: 'invalid'; pick: number; variant: Invalid }

export const pool = <T>(...values: T[]) => fc.constantFrom(...values)

export const noteEditsArb: fc.Arbitrary<NoteEdits> = fc.record(
  {
    title: pool('', 'a', 'b', 'c', 'alpha beta'),
    body: fc.record({
      op: pool('set', 'insert', 'replace', 'remove'),
      pos: fc.nat(6),
      words: fc.array(fc.constantFrom(...WORDS), { maxLength: 3 }),
    }) as fc.Arbitrary<TextEdit>,
    priority: fc.integer({ min: 0, max: 5 }),
    price: pool(null, '1.00', '2.5', '10', '0.99', '3.25'),
    due: pool(null, '2026-01-01', '2026-02-15', '2025-12-31', '2026-03-01'),
    tags: fc.record({ op: pool('add', 'remove', 'set'), members: fc.subarray([...MEMBERS]) }) as fc.Arbitrary<SetEdit>,
    status: pool('todo', 'doing', 'done'),
    owner: pool(null, 'x', 'y', 'z'),
    color: pool(null, 'x', 'y', 'z'),
    secret: pool(null, 'x', 'y', 'z'),
    score: fc.integer({ min: -3, max: 3 }),
  },
  { requiredKeys: [] },
)
export const memoTextArb = pool('', 'one', 'two', 'three')

export const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('create'),
      model: fc.oneof({ weight: 4, arbitrary: fc.constant('note') }, fc.constant('memo')),
      note: noteEditsArb,
      memo: memoTextArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('update'),
      pick: fc.nat(),
      note: noteEditsArb.filter((e) => Object.keys(e).length > 0),
      memo: memoTextArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete'), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('recreate'), pick: fc.nat(), note: noteEditsArb, memo: memoTextArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('invalid'),
      pick: fc.nat(),
      variant: pool<Invalid>('wrongType', 'tooLong', 'badEnum', 'unknownModel', 'unknownField'),
    }),
  },
) as fc.Arbitrary<Edit>

export const NOTE_DEFAULTS: Record<string, unknown> = {
  title: '',
  body: '',
  priority: 0,
  price: null,
  due: null,
  tags: [],
  status: 'todo',
  owner: null,
  color: null,
  secret: null,
  score: 0,
}

export function editText(current: unknown, e: TextEdit): string {
  const words = typeof current === 'string' ? current.split(' ').filter(Boolean) : []
  const at = words.length === 0 ? 0 : e.pos % (words.length + 1)
  if (e.op === 'set') return e.words.join(' ')
  if (e.op === 'insert') words.splice(at, 0, ...e.words)
  else if (e.op === 'replace') words.splice(at, Math.max(1, e.words.length), ...e.words)
  else words.splice(at, 1)
  return words.join(' ')
}

export function editSet(current: unknown, e: SetEdit): string[] {
  const members = new Set(Array.isArray(current) ? (current as string[]) : [])
  if (e.op === 'set') return [...e.members].sort()
  for (const m of e.members) {
    if (e.op === 'add') members.add(m)
    else members.delete(m)
  }
  return [...members].sort()
}

/** The fields an edit sends, made from the local record's current values. */
export function noteData(current: Record<string, unknown>, edits: NoteEdits): Record<string, unknown> {
  const data: Record<string, unknown> = {}
  for (const [field, edit] of Object.entries(edits) as [keyof NoteEdits, unknown][]) {
    if (field === 'body') data.body = editText(current.body, edit as TextEdit)
    else if (field === 'tags') data.tags = editSet(current.tags, edit as SetEdit)
    else if (field === 'score') data.score = (typeof current.score === 'number' ? current.score : 0) + (edit as number)
    else data[field] = edit
  }
  return data
}

// The world of one schedule: a server, its devices, the reference model and what was answered.

/** Answers that made a new version of a record (§4 table). */
