// GET /dashboard: a live view of the server in the browser (issue #13). The page holds no data and is
// not behind auth; it connects to /mcp/ws as an ordinary MCP client with the token the user enters and
// subscribes to realtime://server/stats and realtime://operations.
//
// The three static files (routes/dashboard/) are read once at registration and served from memory
// with a strong ETag, `Cache-Control: no-cache` (they are not fingerprinted: revalidating is one cheap
// 304, and a page never runs a stale script after an upgrade) and a strict Content-Security-Policy.
// Every URL the page uses is relative to where it is served, so the route works under a prefix
// (`/v1/dashboard` talks to `/v1/mcp/ws`). `/dashboard/` redirects to `../dashboard` for the same reason.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** Only our own script and stylesheet, no inline code, and sockets/fetches back to this server. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
} as const;
type AssetName = keyof typeof FILES;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Where the assets are: next to this module when run from source (routes/dashboard/), or, compiled
 * (dist/routes/dashboard.js: tsc copies no static files), in the package's routes/dashboard/.
 */
function assetDir(): string | undefined {
  const candidates = [new URL('./dashboard/', import.meta.url), new URL('../../routes/dashboard/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

function loadAssets(dir: string): Record<AssetName, Asset> {
  const out = {} as Record<AssetName, Asset>;
  for (const [name, type] of Object.entries(FILES) as Array<[AssetName, string]>) {
    const body = readFileSync(`${dir}${name}`);
    out[name] = { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
  }
  return out;
}

const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const dir = assetDir();
  if (dir === undefined) {
    app.log.warn('dashboard assets (routes/dashboard/) not found next to the code or in the package: /dashboard is not served');
    return;
  }
  const assets = loadAssets(dir);

  const serve = (asset: Asset) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply
      .header('Cache-Control', 'no-cache')
      .header('ETag', asset.etag)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    if (asset.type.startsWith('text/html')) {
      reply.header('Content-Security-Policy', DASHBOARD_CSP).header('X-Frame-Options', 'DENY');
    }
    return reply.type(asset.type).send(asset.body);
  };

  app.get('/dashboard', serve(assets['index.html']));
  app.get('/dashboard/', async (_request, reply) => reply.redirect('../dashboard', 301));
  app.get('/dashboard/dashboard.js', serve(assets['dashboard.js']));
  app.get('/dashboard/dashboard.css', serve(assets['dashboard.css']));
};

export default dashboardRoutes;
