import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import { compress } from 'hono/compress';
import type { AppEnv } from './auth.js';

/** Where the build puts the console: dist/web, beside dist/src where this file runs from. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Paths the console never answers, so their own 404s stay JSON. */
const SERVER_PATHS = /^\/(api\/|metrics$|healthz$)/;

// The console loads only its own scripts and talks only to this server; uPlot sets inline styles.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the built console at `/`: hashed assets cached for good, and index.html (never cached) for
 * every other page path, so a link to /models/x opens the page the console routes to.
 */
export function registerConsoleAssets(app: Hono<AppEnv>, dir = DEFAULT_CONSOLE_DIR): void {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) {
    app.get('/', (c) => c.text('The console is not built: run `npm run build` (it builds the API server and the console into dist/).', 503));
    return;
  }
  const index = readFileSync(indexFile, 'utf8');
  app.use(
    '/assets/*',
    compress(),
    serveStatic({
      root: dir,
      onFound: (_path, c) => {
        c.header('cache-control', 'public, max-age=31536000, immutable');
        c.header('x-content-type-options', 'nosniff');
      },
    }),
  );
  app.get('/*', async (c, next) => {
    if (SERVER_PATHS.test(c.req.path) || c.req.path.startsWith('/assets/')) return next();
    return c.html(index, 200, { ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
  });
}
