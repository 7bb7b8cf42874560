// Limits on MCP routes. HTTP: @fastify/rate-limit keyed by principal (client IP without auth; behind a
// proxy the IP comes from X-Forwarded-For only when TRUSTED_PROXIES lists the proxy), applied after
// auth to upgrades, SSE opens and POSTs: 429 with Retry-After and RateLimit-* headers. Long-lived
// connections (WebSockets, SSE streams) per principal. Inside an open WebSocket, where HTTP hooks no
// longer run: a per-session message budget (routes/mcp-ws.ts takes one per socket). Calls per session
// are capped by the runner's queue (MAX_CONCURRENT_PER_SESSION + MAX_QUEUED_PER_SESSION → -32030).
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isGuardedRequest } from '../src/auth/guarded-paths.js';
import { ConnectionCounter } from '../src/limits/connection-counter.js';
import { createMessageRateLimiter, type MessageRateLimiter } from '../src/limits/message-rate-limiter.js';
import { ANONYMOUS } from '../src/sessions/principal.js';

export interface McpLimits {
  /** Open WebSockets and SSE streams per authenticated principal. */
  readonly connections: ConnectionCounter;
  /** A message budget for a new WebSocket session (undefined when WS_MESSAGES_PER_SECOND=0). */
  newMessageLimiter(): MessageRateLimiter | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    mcpLimits: McpLimits;
  }
}

/** Rate-limit and connection key: the principal when authenticated, else the client IP. */
export function limitKey(request: FastifyRequest): string {
  const p = request.principal;
  return p !== undefined && p !== ANONYMOUS ? `p:${p.issuer ?? ''}|${p.subject}` : `ip:${request.ip}`;
}

/** A WebSocket upgrade or an SSE stream: a connection that stays open. */
function opensLongLivedConnection(request: FastifyRequest): boolean {
  if (request.headers.upgrade?.toLowerCase() === 'websocket') return true;
  // Decided by route, not by the Accept header: GET /mcp/sse opens a stream whatever the client accepts.
  return request.method === 'GET' && STREAM_ROUTES.has(request.routeOptions.url ?? '');
}

/** GET on these routes opens an SSE stream (legacy SSE; the Streamable HTTP GET stream). */
const STREAM_ROUTES = new Set(['/mcp/sse', '/mcp']);

const rateLimitPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const connections = new ConnectionCounter(config.MAX_CONNECTIONS_PER_PRINCIPAL);
  const messageLimits = { messagesPerSecond: config.WS_MESSAGES_PER_SECOND, burst: config.WS_MESSAGE_BURST, strikes: config.WS_RATE_LIMIT_STRIKES };
  app.decorate('mcpLimits', { connections, newMessageLimiter: () => createMessageRateLimiter(messageLimits) });

  if (config.RATE_LIMIT_MAX > 0) {
    // global: false: only the hook below applies it, to MCP routes only (not health checks, not the app's own routes).
    await app.register(rateLimit, { global: false, enableDraftSpec: true });
    const limitRequest = app.rateLimit({ max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS, keyGenerator: limitKey });
    app.addHook('onRequest', async (request, reply) => {
      if (isGuardedRequest(request.routeOptions.url, request.url)) await limitRequest.call(app, request, reply);
    });
  }

  if (config.MAX_CONNECTIONS_PER_PRINCIPAL > 0) {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!isGuardedRequest(request.routeOptions.url, request.url) || !opensLongLivedConnection(request)) return;
      const p = request.principal;
      if (p === undefined || p === ANONYMOUS) return; // per principal: without auth there is none (MAX_SESSIONS still applies)
      const key = limitKey(request);
      if (!connections.acquire(key)) {
        request.log.info({ subject: p.subject, max: connections.max }, 'refused connection: too many open for this principal');
        return reply
          .code(429)
          .header('Retry-After', '5')
          .send({ error: 'too_many_connections', error_description: `At most ${connections.max} open connections per principal` });
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        connections.release(key);
      };
      // A WebSocket lives on the upgraded socket; an SSE stream ends with its response.
      if (request.headers.upgrade !== undefined) request.raw.socket.once('close', release);
      else reply.raw.once('close', release);
    });
  }
};

export default fp(rateLimitPlugin, { fastify: '5.x', name: 'realtime-mcp-rate-limit', dependencies: ['realtime-mcp-core', 'realtime-mcp-auth'] });
