/** `/`: what Pulse serves to browsers, with links to the demo windows. */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './index-page.css'

function IndexPage() {
  return (
    <main>
      <h1>Pulse</h1>
      <p>
        An offline-first data sync engine. This server also serves its API (docs at <a href="/api/docs">/api/docs</a>).
      </p>
      <h2>Two-window demo</h2>
      <p>
        Open both windows side by side. Window 1 edits the first name of one shared person, window 2 its last name; each edit appears in the
        other window at once. Each window keeps its data in its own IndexedDB store and signs in as a device of its own, so edits made while
        offline are kept and sync when the network returns.
      </p>
      <ul>
        <li>
          <a href="/demo/window1">Window 1</a>: edits the first name
        </li>
        <li>
          <a href="/demo/window2">Window 2</a>: edits the last name
        </li>
      </ul>
    </main>
  )
}

const element = document.getElementById('root')
if (element)
  createRoot(element).render(
    <StrictMode>
      <IndexPage />
    </StrictMode>,
  )
