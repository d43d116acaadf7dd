/**
 * The web apps, one HTML page each: the index and the two-window demo (seed 001). `pulse serve`
 * serves the build (dist/) at `/`, `/demo/window1` and `/demo/window2`, and the API and
 * WebSocket on the same origin, so the pages need no configuration.
 */
import react from '@vitejs/plugin-react'
import { defaultClientConditions, defineConfig } from 'vite'

export default defineConfig({
  plugins: [react()],
  // The workspace packages are bundled from their TypeScript sources (see their package.json), so
  // the web build needs no package build first.
  resolve: { conditions: ['@pulse/source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: 'index.html',
        window1: 'demo/window1.html',
        window2: 'demo/window2.html',
      },
    },
  },
})
