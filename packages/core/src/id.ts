/**
 * Record ids: UUIDv7 (RFC 9562), time-ordered: an id made in a later millisecond sorts later
 * (within one millisecond the order is random), which keeps primary-key indexes compact. Uses
 * the Web Crypto random source, present in browsers, React Native (with a polyfill) and Node.
 */

interface RandomSource {
  getRandomValues<T extends Uint8Array>(array: T): T
}

function randomSource(): RandomSource {
  const c = (globalThis as { crypto?: RandomSource }).crypto
  if (!c || typeof c.getRandomValues !== 'function') {
    throw new Error('no crypto.getRandomValues: install a Web Crypto polyfill to generate ids')
  }
  return c
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
// Random bytes are drawn 4 KiB at a time: one getRandomValues call per 256 ids instead of one
// per id (it dominated the cost of id generation in batched writes).
const POOL_BYTES = 4096

function createRandomPool(): () => Uint8Array {
  let pool = new Uint8Array(0)
  let offset = 0
  return () => {
    if (offset + 16 > pool.length) {
      pool = randomSource().getRandomValues(new Uint8Array(POOL_BYTES))
      offset = 0
    }
    offset += 16
    return pool.subarray(offset - 16, offset)
  }
}

const nextRandom16 = createRandomPool()

/** A new UUIDv7 string, lowercase. `nowMs` is for tests. */
export function uuidv7(nowMs: number = Date.now()): string {
  const b = nextRandom16()
  // 48-bit big-endian Unix milliseconds, then version 7 and the RFC 9562 variant.
  let ms = Math.max(0, Math.floor(nowMs))
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  let s = ''
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i] ?? 0]
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-'
  }
  return s
}
