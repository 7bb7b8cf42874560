// Limits on MCP routes. HTTP: @fastify/rate-limit keyed by principal (client IP without auth; behind a
// proxy the IP comes from X-Forwarded-For only when TRUSTED_PROXIES lists the proxy), applied after
// auth to upgrades, SSE opens and POSTs: 429 with Retry-After and RateLimit-* headers. Long-lived
// connections (WebSockets, SSE streams) per principal. Inside an open WebSocket, where HTTP hooks no
// longer run: a per-session message budget (routes/mcp-ws.ts takes one per socket). Calls per session
// are capped by the runner's queue (MAX_CONCURRENT_PER_SESSION + MAX_QUEUED_PER_SESSION → -32030).
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ConnectionCounter } from '../src/limits/connection-counter.js';
import { createMessageRateLimiter, type MessageRateLimiter } from '../src/limits/message-rate-limiter.js';
import { ANONYMOUS } from '../src/sessions/principal.js';
import { DEFAULTS } from '../src/defaults.js';
import { Errors, retryLater } from '../src/errors.js';
import { sendHttpError } from './json-rpc-errors.js';
import { clusterRateLimitStore } from './rate-limit-store.js';

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
  interface FastifyContextConfig {
    /** A GET on this route opens an SSE stream that stays open (counts as a connection). */
    opensStream?: boolean;
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
  return request.method === 'GET' && request.routeOptions.config?.opensStream === true;
}

const rateLimitPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const rejections = app.mcp.telemetry.rejections;
  const connections = new ConnectionCounter(config.MAX_CONNECTIONS_PER_PRINCIPAL);
  const messageLimits = { messagesPerSecond: config.WS_MESSAGES_PER_SECOND, burst: config.WS_MESSAGE_BURST, strikes: config.WS_RATE_LIMIT_STRIKES };
  app.decorate('mcpLimits', { connections, newMessageLimiter: () => createMessageRateLimiter(messageLimits, () => rejections.ws_message_limit++) });

  if (config.RATE_LIMIT_MAX > 0) {
    // global: false: only the hook below applies it, to this plugin's guarded routes (not health checks,
    // not the host app's own routes). The 429 body is a JSON-RPC error with data.retryAfterMs, as every
    // other error of ours: many MCP clients never show headers.
    await app.register(rateLimit, {
      global: false,
      enableDraftSpec: true,
      onExceeded: () => rejections.rate_limit++,
      // STORE=redis: one budget per principal for the whole cluster, however requests are spread over
      // nodes; per node while Redis is unreachable (rate-limit-store.ts), so requests never wait for it.
      ...(app.mcp.stores.redis !== undefined && { store: clusterRateLimitStore(app.mcp.stores) }),
      // Thrown by the plugin; our error handler (json-rpc-errors.ts) renders it like every other error.
      errorResponseBuilder: (_request, context) =>
        retryLater(Errors.RATE_LIMITED, `Rate limited: more than ${context.max} requests in ${context.after}; retry in ${Math.ceil(context.ttl / 1000)} s`, context.ttl, { limit: context.max }),
    });
    const limitRequest = app.rateLimit({ max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS, keyGenerator: limitKey });
    app.addHook('onRequest', limitRequest);
  }

  if (config.MAX_CONNECTIONS_PER_PRINCIPAL > 0) {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!opensLongLivedConnection(request)) return;
      const p = request.principal;
      if (p === undefined || p === ANONYMOUS) return; // per principal: without auth there is none (MAX_SESSIONS still applies)
      const key = limitKey(request);
      if (!connections.acquire(key)) {
        rejections.connection_limit++;
        request.log.info({ subject: p.subject, max: connections.max }, 'refused connection: too many open for this principal');
        return sendHttpError(reply, retryLater(Errors.LIMIT_REACHED, `Too many connections: at most ${connections.max} open connections per principal`, DEFAULTS.RETRY_AFTER_S * 1000, { maxConnections: connections.max }));
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

export default fp(rateLimitPlugin, { fastify: '5.x', name: 'realtime-mcp-rate-limit', dependencies: ['realtime-mcp-auth-guard'] });
