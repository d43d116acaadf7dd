/**
 * The web apps `pulse serve` hands to browsers (apps/web, built by Vite into apps/web/dist):
 * `/` the index page, `/demo/<page>` a demo page (`/demo/window1` is `dist/demo/window1.html`),
 * `/assets/*` the hashed scripts and styles. Files are looked up on every request, so a build
 * made while the server runs is served at once. Without a build, `/` and `/demo/*` answer a
 * 404 page that says how to make one.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** Where the build of apps/web lands, relative to this file in the monorepo. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../../apps/web/dist/', import.meta.url))

/** Page names allowed under `/demo/`: a name, never a path. */
const PAGE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

/** The pages may load scripts, styles and data from this server only. */
const PAGE_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function notFoundPage(title: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${message}</p></body></html>
`
}

function sendNotFound(reply: FastifyReply, title: string, message: string): FastifyReply {
  return reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(notFoundPage(title, message))
}

/**
 * Serves the web build in `root` (default: apps/web/dist); `false` serves nothing. The pages
 * get a content security policy allowing only this origin. Without `demoPages` (production),
 * `/demo/*` answers 404: the demo pages sign up a `demo` user with a password anyone can read.
 */
export async function registerWebApp(
  app: FastifyInstance,
  root: string | false | undefined,
  options: { demoPages?: boolean } = {},
): Promise<void> {
  if (root === false) return
  const dist = root ?? DEFAULT_WEB_ROOT
  // Installed from npm there is no apps/web to build: say where the API is instead.
  const inRepository = root !== undefined || existsSync(join(DEFAULT_WEB_ROOT, '..', 'package.json'))
  const notBuilt = (reply: FastifyReply) =>
    inRepository
      ? sendNotFound(
          reply,
          'The web app is not built',
          `There is no build in <code>${escapeHtml(dist)}</code>. Build it with <code>npm run build:web</code> ` +
            '(<code>npm start</code> does this first), then reload this page.',
        )
      : sendNotFound(reply, 'Pulse is running', 'This server has no web pages: its API is documented at <a href="/api/docs">/api/docs</a>.')

  const sendPage = async (reply: FastifyReply, file: string, missing: () => FastifyReply) => {
    if (!existsSync(dist)) return notBuilt(reply)
    let html: Buffer
    try {
      html = await readFile(join(dist, file))
    } catch {
      return missing()
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('content-security-policy', PAGE_CSP).send(html)
  }

  const hidden = { schema: { hide: true } }
  const index = (_request: unknown, reply: FastifyReply) => sendPage(reply, 'index.html', () => notBuilt(reply))
  app.get('/', hidden, index)
  // Without demo pages, /demo and /demo/* answer the API's 404 like any unknown path.
  if (options.demoPages !== false) registerDemoPages(app, index, sendPage)
  // Vite names every asset by its content hash, so a browser may keep them for good.
  await app.register(fastifyStatic, {
    root: join(dist, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    maxAge: '365d',
    immutable: true,
    logLevel: 'warn',
  })
}

function registerDemoPages(
  app: FastifyInstance,
  index: (request: unknown, reply: FastifyReply) => Promise<FastifyReply>,
  sendPage: (reply: FastifyReply, file: string, missing: () => FastifyReply) => Promise<FastifyReply>,
): void {
  const hidden = { schema: { hide: true } }
  app.get('/demo', hidden, index)
  app.get<{ Params: { '*': string } }>('/demo/*', hidden, (request, reply) => {
    const page = request.params['*'].replace(/\/$/, '')
    const missing = () =>
      sendNotFound(reply, 'No such demo page', `There is no demo page <code>${escapeHtml(page)}</code>: see <a href="/">the index</a>.`)
    return PAGE_NAME.test(page) ? sendPage(reply, join('demo', `${page}.html`), missing) : missing()
  })
}
