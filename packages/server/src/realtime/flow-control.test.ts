import { describe, expect, it } from 'vitest'
import { createFlowControl, type FlowTransport } from './flow-control.ts'

function transport() {
  const t = {
    bufferedAmount: 0,
    sent: [] as (Buffer | string)[],
    calls: [] as string[],
    sendRaw(payload: Buffer | string) {
      t.sent.push(payload)
    },
    terminate: () => t.calls.push('terminate'),
    pause: () => t.calls.push('pause'),
    resume: () => t.calls.push('resume'),
  }
  return t satisfies FlowTransport
}

describe('flow control', () => {
  it('stops reading while more than 4 MiB of messages wait, and reads again once it is down to 1 MiB', () => {
    const t = transport()
    const flow = createFlowControl(t, { isOpen: () => true, onDrop: () => {} })
    for (let i = 0; i < 4; i++) flow.received(1024 * 1024)
    expect(t.calls).toEqual([])
    flow.received(10)
    flow.received(1024 * 1024)
    expect(t.calls).toEqual(['pause'])
    flow.handled(1024 * 1024)
    flow.handled(1024 * 1024)
    flow.handled(1024 * 1024)
    expect(t.calls).toEqual(['pause'])
    flow.handled(1024 * 1024)
    expect(t.calls).toEqual(['pause']) // 1 MiB and 10 characters still wait
    flow.handled(10)
    expect(t.calls).toEqual(['pause', 'resume'])
  })

  it('sends the frames of one turn in one write: corked at the first, uncorked at the turn\u2019s end', async () => {
    const t = transport()
    const flow = createFlowControl(
      { ...t, cork: () => t.calls.push('cork'), uncork: () => t.calls.push('uncork') },
      {
        isOpen: () => true,
        onDrop: () => {},
      },
    )
    flow.send('a')
    flow.send('b')
    flow.send('c')
    expect(t.calls).toEqual(['cork'])
    await new Promise((r) => process.nextTick(r))
    expect(t.calls).toEqual(['cork', 'uncork'])
    flow.send('d')
    await new Promise((r) => setImmediate(r))
    expect(t.calls).toEqual(['cork', 'uncork', 'cork', 'uncork'])
    expect(t.sent).toEqual(['a', 'b', 'c', 'd'])
  })

  it('drops the connection once, when more is sent past the cap', () => {
    const t = transport()
    const drops: number[] = []
    const flow = createFlowControl(t, { maxSocketBufferBytes: 100, isOpen: () => true, onDrop: (n) => drops.push(n) })
    t.bufferedAmount = 100
    flow.send('a')
    t.bufferedAmount = 101
    flow.send('b')
    flow.send('c')
    expect(t.sent).toEqual(['a'])
    expect(t.calls).toEqual(['terminate'])
    expect(drops).toEqual([101])
  })

  it('waits for room until the buffer drains or the session ends', async () => {
    const t = transport()
    let open = true
    const flow = createFlowControl(t, { drainBytes: 10, isOpen: () => open, onDrop: () => {} })
    t.bufferedAmount = 50
    let done = false
    const waiting = flow.room().then(() => {
      done = true
    })
    await new Promise((r) => setTimeout(r, 30))
    expect(done).toBe(false)
    t.bufferedAmount = 10
    await waiting
    t.bufferedAmount = 50
    const ended = flow.room()
    open = false
    await ended
    flow.send('after the end')
    expect(t.sent).toEqual([])
  })
})
