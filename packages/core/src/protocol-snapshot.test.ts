/**
 * The protocol snapshot (the rocicorp/mono schema-hash idea): a hash of every wire type
 * (PROTOCOL.md §1, §3–§6) at each protocol version. Changing a message's shape without bumping
 * PROTOCOL_VERSION fails here, so a client and a server that both claim one version always
 * speak the same messages. The hash covers the type declarations as the compiler prints them
 * without comments: rewording a comment or reformatting changes nothing, a field does.
 *
 * When it fails: bump PROTOCOL_VERSION in protocol.ts, add a row below for the new version
 * (the test prints its hash), say in docs/protocol.md what changed and what the server does
 * with clients of older versions. Never edit an existing row.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION } from './protocol.ts'

/** The wire types' hash at each protocol version. */
const WIRE_HASHES: Readonly<Record<number, string>> = {
  1: 'd9f70a96c9d8f8f4',
  2: 'c4298b8995a91fe7',
  3: '9a4173b51318d687',
}

/** Where the wire types are declared: every exported type of protocol.ts, and the record and clock types it uses. */
const SOURCES: readonly { file: string; names: 'exported' | readonly string[] }[] = [
  { file: 'protocol.ts', names: 'exported' },
  { file: 'model.ts', names: ['SystemFields', 'WireRecord'] },
  { file: 'vector-clock.ts', names: ['VectorClock'] },
]

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
}

/** Every wire type declaration, printed without comments, in name order. */
function wireDeclarations(): string[] {
  const printer = ts.createPrinter({ removeComments: true })
  const out: { name: string; text: string }[] = []
  for (const { file, names } of SOURCES) {
    const path = new URL(file, import.meta.url)
    const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true)
    for (const node of source.statements) {
      if (!ts.isTypeAliasDeclaration(node) && !ts.isInterfaceDeclaration(node)) continue
      const name = node.name.text
      if (names === 'exported' ? !isExported(node) : !names.includes(name)) continue
      out.push({ name, text: printer.printNode(ts.EmitHint.Unspecified, node, source).replace(/\s+/g, ' ') })
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => d.text)
}

function wireHash(): string {
  return createHash('sha256').update(wireDeclarations().join('\n')).digest('hex').slice(0, 16)
}

describe('protocol snapshot', () => {
  it('finds the wire types it hashes', () => {
    const text = wireDeclarations().join('\n')
    for (const name of ['ClientMessage', 'ServerMessage', 'Mutation', 'PushResponse', 'PullResponse', 'WireRecord', 'VectorClock']) {
      expect(text).toMatch(new RegExp(`(type|interface) ${name}\\b`))
    }
  })

  it('matches the hash recorded for this PROTOCOL_VERSION (a changed wire type needs a version bump)', () => {
    const hash = wireHash()
    const recorded = WIRE_HASHES[PROTOCOL_VERSION]
    const advice =
      recorded === undefined
        ? `no hash is recorded for protocol version ${PROTOCOL_VERSION}: add the row ${PROTOCOL_VERSION}: '${hash}'`
        : `the wire types changed (hash ${hash}, recorded ${recorded} for version ${PROTOCOL_VERSION}): ` +
          `bump PROTOCOL_VERSION, add a row for it, and update docs/protocol.md`
    expect(hash, advice).toBe(recorded)
  })

  it('records a different hash for every version', () => {
    const hashes = Object.values(WIRE_HASHES)
    expect(new Set(hashes).size).toBe(hashes.length)
  })
})
