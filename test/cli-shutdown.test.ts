/**
 * How `pulse serve` stops and logs: on SIGTERM/SIGINT it lets in-flight requests finish (up to
 * its deadline), then says "stopped" in one line; logs are JSON lines or pretty lines on request.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startPulse, stop } from './support/cli.ts'

const tmpDb = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'pulse-stop-')), 'pulse.db')}`
const SECRET = { PULSE_SECRET: 'a secret of at least thirty-two characters' }
/** Tests that start `pulse` several times: a busy machine makes each start take seconds. */
const SLOW_MS = 120_000

/** A registration whose body arrives in two parts: the request is in flight until `finish()`. */
function slowRegistration(url: string, username: string) {
  let push: (chunk: Uint8Array | null) => void = () => {}
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (chunk) => (chunk ? controller.enqueue(chunk) : controller.close())
    },
  })
  const text = JSON.stringify({ username, password: 'correct horse battery staple' })
  const response = fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit)
  push(new TextEncoder().encode(text.slice(0, 10)))
  return {
    response,
    finish() {
      push(new TextEncoder().encode(text.slice(10)))
      push(null)
    },
  }
}

/** Resolves once the server (at `--log-level debug`) has logged the arrival of a request to `path`: it is then in flight. */
async function untilArrived(output: () => string, path: string): Promise<void> {
  const arrived = () =>
    output()
      .split('\n')
      .some((l) => l.includes('request arrived') && l.includes(`"url":"${path}"`))
  while (!arrived()) await new Promise((r) => setTimeout(r, 20))
}

/** Resolves once the server takes no new requests (refused, or 503 while closing). */
async function untilClosing(url: string): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${url}/api/v1/healthz`, { headers: { connection: 'close' } })
      await res.arrayBuffer()
      if (res.status === 503) return
    } catch {
      return
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('pulse serve stopping', { timeout: SLOW_MS }, () => {
  it('on SIGTERM, finishes the request in flight, then logs "stopped" and exits 0', async () => {
    const { child, url, output } = await startPulse(['--database', tmpDb(), '--log-level', 'debug'], SECRET)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const slow = slowRegistration(url, 'inflight')
    await untilArrived(output, '/api/auth/register')
    child.kill('SIGTERM')
    await untilClosing(url)
    slow.finish()
    const res = await slow.response
    const text = await res.text()
    expect(res.status, text).toBe(201)
    expect(text).toContain('"inflight"')
    expect(await exited, output()).toBe(0)
    const stopped = output()
      .split('\n')
      .filter((line) => line.includes('pulse: stopped'))
    expect(stopped).toHaveLength(1)
    expect(output()).not.toMatch(/closing their connections/)
  })

  it('cuts a request still running at the deadline (--shutdown-timeout-ms), then stops', async () => {
    const { child, url, output } = await startPulse(['--database', tmpDb(), '--shutdown-timeout-ms', '300', '--log-level', 'debug'], SECRET)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const stuck = slowRegistration(url, 'stuck')
    await untilArrived(output, '/api/auth/register')
    child.kill('SIGINT')
    await expect(stuck.response).rejects.toThrow()
    expect(await exited, output()).toBe(0)
    expect(output()).toMatch(/requests still running after 300 ms; closing their connections/)
    expect(output()).toMatch(/pulse: stopped/)
  })
})

describe('pulse serve logs', { timeout: SLOW_MS }, () => {
  it('--log-format json: one JSON object a line, one line per answered request', async () => {
    const { child, url, output } = await startPulse(['--database', tmpDb(), '--log-format', 'json'], SECRET)
    const res = await fetch(`${url}/api/v1/healthz?probe=once`)
    await res.arrayBuffer()
    expect(await stop(child)).toBe(0)
    const lines = output().trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    expect(lines.some((l) => (JSON.parse(l) as { msg?: string }).msg?.startsWith('pulse: serving'))).toBe(true)
    const about = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.url === '/api/v1/healthz?probe=once')
    expect(about).toEqual([expect.objectContaining({ msg: 'request', method: 'GET', status: 200, reqId: expect.any(String) })])
  })

  it('--log-format pretty: lines for a person, not JSON', async () => {
    const { child, output } = await startPulse(['--database', tmpDb(), '--log-format', 'pretty'], SECRET)
    expect(await stop(child)).toBe(0)
    const banner = output()
      .split('\n')
      .find((l) => l.includes('pulse: serving'))
    expect(banner).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: pulse: serving /)
    expect(output()).toMatch(/INFO: pulse: stopped/)
  })
})
