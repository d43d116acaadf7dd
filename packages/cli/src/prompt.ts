/** Asking a person at the terminal, with hidden input for passwords. */
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'

/** Asks one question on stdin/stdout; `hidden` echoes nothing (passwords). */
export function ask(question: string, hidden = false): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk)
      done()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true })
  return new Promise((resolve, reject) => {
    rl.question(question, (answer) => {
      rl.close()
      if (hidden) process.stdout.write('\n')
      resolve(answer.trim())
    })
    rl.on('close', () => reject(new Error('no input (use --no-input with --username and --password)')))
    muted = hidden
  })
}
