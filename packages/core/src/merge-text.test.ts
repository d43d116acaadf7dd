import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mergeText, tokenizeText } from './merge-text.ts'

// Seeded so a failure replays: FC_SEED=<seed printed by fast-check> FC_RUNS=<n> npx vitest run …
const envInt = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined)
fc.configureGlobal({ seed: envInt('FC_SEED') ?? 20261123, numRuns: envInt('FC_RUNS') ?? 300 })

// Texts from a small vocabulary, so the three versions share much; unicode included.
const piece = fc.constantFrom('the', 'cat', 'sat', 'on', 'mat', ' ', ' ', '\n', '.', ',', 'é', 'naïve', '😀', '東京', 'e\u0301')
const text = fc.array(piece, { maxLength: 25 }).map((parts) => parts.join(''))
// Any UTF-16 code units, lone surrogates included.
const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units))

describe('tokenizeText', () => {
  it('splits into words, whitespace runs and single symbols, and joins back to the text', () => {
    expect(tokenizeText('Hello,  wörld 42!\n')).toEqual(['Hello', ',', '  ', 'wörld', ' ', '42', '!', '\n'])
    expect(tokenizeText('')).toEqual([])
    expect(tokenizeText('a😀b')).toEqual(['a', '😀', 'b'])
    expect(tokenizeText('cafe\u0301 x')).toEqual(['cafe\u0301', ' ', 'x'])
    fc.assert(
      fc.property(codeUnits, (s) => {
        expect(tokenizeText(s).join('')).toBe(s)
      }),
    )
  })
})

describe('mergeText', () => {
  it('keeps both edits when two people change different words of one line', () => {
    expect(mergeText('The quick brown fox', 'The slow brown fox', 'The quick brown dog')).toEqual({ ok: true, value: 'The slow brown dog' })
    expect(mergeText('one two three', 'ONE two three', 'one two THREE')).toEqual({ ok: true, value: 'ONE two THREE' })
    // Adjacent words: the space between them keeps the edits apart.
    expect(mergeText('one two three', 'one 2 three', 'one two 3')).toEqual({ ok: true, value: 'one 2 3' })
  })

  it('combines edits in different lines and paragraphs, insertions and deletions', () => {
    const base = 'Title\n\nFirst paragraph here.\n\nSecond paragraph here.\n'
    const server = 'Title\n\nFirst paragraph, edited, here.\n\nSecond paragraph here.\n'
    const client = 'Title\n\nFirst paragraph here.\n\nSecond here.\nThird line.\n'
    expect(mergeText(base, server, client)).toEqual({
      ok: true,
      value: 'Title\n\nFirst paragraph, edited, here.\n\nSecond here.\nThird line.\n',
    })
  })

  it('fails when both change the same word differently', () => {
    expect(mergeText('The quick brown fox', 'The slow brown fox', 'The fast brown fox')).toEqual({ ok: false })
  })

  it('fails when both insert at the same point, unless they inserted the same', () => {
    expect(mergeText('a b', 'a b c', 'a b d')).toEqual({ ok: false })
    expect(mergeText('a b', 'x a b', 'y a b')).toEqual({ ok: false })
    expect(mergeText('a b c', 'a b c d', 'A b c d')).toEqual({ ok: true, value: 'A b c d' })
  })

  it('fails when one side deletes what the other edits', () => {
    expect(mergeText('keep this word', 'keep word', 'keep that word')).toEqual({ ok: false })
  })

  it('takes a change both sides made identically once, with the other changes', () => {
    expect(mergeText('a b c d e', 'a B c d E', 'a B c D e')).toEqual({ ok: true, value: 'a B c D E' })
  })

  it('handles empty texts', () => {
    expect(mergeText('', 'hello', '')).toEqual({ ok: true, value: 'hello' })
    expect(mergeText('', 'hello', 'world')).toEqual({ ok: false })
    expect(mergeText('gone', '', 'gone')).toEqual({ ok: true, value: '' })
    expect(mergeText('a b', '', 'a c')).toEqual({ ok: false })
  })

  it('never splits a surrogate pair or a combining sequence', () => {
    expect(mergeText('😀 x 😀', '😁 x 😀', '😀 x 😃')).toEqual({ ok: true, value: '😁 x 😃' })
    expect(mergeText('cafe\u0301 ok', 'cafe\u0301 OK', 'cafe\u0300 ok')).toEqual({ ok: true, value: 'cafe\u0300 OK' })
  })

  it('gives x when one side made no change or both made the same', () => {
    fc.assert(
      fc.property(text, text, (base, x) => {
        expect(mergeText(base, base, x)).toEqual({ ok: true, value: x })
        expect(mergeText(base, x, base)).toEqual({ ok: true, value: x })
        expect(mergeText(base, x, x)).toEqual({ ok: true, value: x })
      }),
    )
  })

  it('is symmetric in server and client', () => {
    fc.assert(
      fc.property(text, text, text, (base, server, client) => {
        expect(mergeText(base, server, client)).toEqual(mergeText(base, client, server))
      }),
    )
  })

  it('combines any edits of words at least one word apart', () => {
    // Base words are distinct, so the diff is unambiguous; the server edits words 0, 4, 8, …,
    // the client words 2, 6, 10, …, each by a replacement, a deletion or an insertion after it.
    const edit = fc.option(fc.constantFrom('replace', 'delete', 'insertAfter'), { nil: undefined })
    fc.assert(
      fc.property(fc.array(fc.tuple(edit, edit), { minLength: 1, maxLength: 12 }), (plan) => {
        const words = plan.flatMap((_, i) => [`w${2 * i}`, `w${2 * i + 1}é`])
        const apply = (side: 0 | 1): string[] =>
          words.flatMap((w, i) => {
            const op = i % 4 === 2 * side ? plan[Math.floor(i / 2)]?.[side] : undefined
            const fresh = side === 0 ? `S${i}` : `C${i}😀`
            if (op === 'replace') return [fresh]
            if (op === 'delete') return []
            if (op === 'insertAfter') return [w, fresh]
            return [w]
          })
        const both = words.flatMap((w, i) => {
          const side = i % 4 === 0 ? 0 : i % 4 === 2 ? 1 : undefined
          const op = side === undefined ? undefined : plan[Math.floor(i / 2)]?.[side]
          const fresh = side === 0 ? `S${i}` : `C${i}😀`
          if (op === 'replace') return [fresh]
          if (op === 'delete') return []
          if (op === 'insertAfter') return [w, fresh]
          return [w]
        })
        expect(mergeText(words.join(' '), apply(0).join(' '), apply(1).join(' '))).toEqual({ ok: true, value: both.join(' ') })
      }),
    )
  })

  it('merges 100 KB texts with scattered edits on both sides in well under a second', () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog.`)
    const base = lines.join('\n')
    expect(base.length).toBeGreaterThan(100_000)
    const server = lines.map((l, i) => (i % 20 === 0 ? l.replace('quick', 'slow') : l)).join('\n')
    const client = lines.map((l, i) => (i % 20 === 10 ? l.replace('lazy', 'sleepy') : l)).join('\n')
    const t0 = performance.now()
    const merged = mergeText(base, server, client)
    const elapsedMs = performance.now() - t0
    const expected = lines.map((l, i) => (i % 20 === 0 ? l.replace('quick', 'slow') : i % 20 === 10 ? l.replace('lazy', 'sleepy') : l))
    expect(merged).toEqual({ ok: true, value: expected.join('\n') })
    expect(elapsedMs).toBeLessThan(500)
  })

  it('answers quickly for unrelated 100 KB texts', () => {
    const a = Array.from({ length: 20_000 }, (_, i) => `a${i % 97}`).join(' ')
    const b = Array.from({ length: 20_000 }, (_, i) => `b${i % 89}`).join(' ')
    const c = Array.from({ length: 20_000 }, (_, i) => `c${i % 83}`).join('\n')
    const t0 = performance.now()
    expect(mergeText(a, b, c)).toEqual({ ok: false })
    expect(performance.now() - t0).toBeLessThan(1_000)
  })
})
