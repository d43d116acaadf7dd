/**
 * Mounts a demo window: signs the page in, starts its client, makes sure the shared person
 * exists, and renders the window inside a `PulseProvider`. Shows what it is waiting for, and
 * why it cannot go on (the server refused the demo user, or it is unreachable).
 */
import { PulseProvider } from '@pulse/react'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { personServed, startDemoClient } from './demo-client.ts'
import { ensureSharedPerson } from './shared-person.ts'
import { TwoWindowDemo, type TwoWindowDemoProps } from './two-window-demo.tsx'
import './demo.css'

const SIGN_IN_RETRY_MS = 3_000

function rootElement(): HTMLElement {
  const element = document.getElementById('root')
  if (!element) throw new Error('the page has no #root element')
  return element
}

/** Renders the demo window described by `props` into `#root`. */
export function mountDemoPage(props: TwoWindowDemoProps): void {
  const root = createRoot(rootElement())
  const show = (message: string) =>
    root.render(
      <main className={`demo ${props.page}`}>
        <h1>{props.title}</h1>
        <p className="loading">{message}</p>
      </main>,
    )

  const signIn = async () => {
    for (;;) {
      try {
        return await startDemoClient(props.page)
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e)
        show(`Could not sign in (${message}); trying again in ${SIGN_IN_RETRY_MS / 1000} s.`)
        await new Promise((resolve) => setTimeout(resolve, SIGN_IN_RETRY_MS))
      }
    }
  }

  const start = async (): Promise<void> => {
    show('Signing in…')
    const { client, session } = await signIn()
    if (!(await personServed(session))) {
      show(
        'This server does not serve the person model of the demo. Start it with ' +
          '`npx pulse serve --config examples/two-window/pulse.config.ts`, then reload.',
      )
      await client.close()
      return
    }
    root.render(
      <StrictMode>
        <PulseProvider client={client}>
          <TwoWindowDemo {...props} />
        </PulseProvider>
      </StrictMode>,
    )
    const controller = new AbortController()
    window.addEventListener('pagehide', () => controller.abort())
    await ensureSharedPerson(client, controller.signal)
  }
  start().catch((e: unknown) => console.error('pulse demo:', e))
}
