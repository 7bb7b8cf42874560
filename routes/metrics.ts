// GET /metrics: Prometheus text format (opt-in for embedders: `metrics: true`; on in the standalone
// server). See src/metrics/prometheus-metrics.ts for the families.
//
// Who may scrape. With authentication on: a token with the `metrics` or `admin` scope (the auth guard
// runs on /metrics as on /mcp, so no token → 401; a token without either scope → 403
// insufficient_scope), on any bind; or, when METRICS_TOKEN is set, that static token. Loopback alone is
// not trusted there: a reverse proxy on the same machine makes every caller look local. With
// authentication off there is no token to ask for: only callers on this machine (socket and client
// address loopback), or METRICS_TOKEN when set.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../src/config.js';
import { ADMIN_SCOPE, METRICS_SCOPE } from '../src/auth/tool-scopes.js';
import { createServerMetrics } from '../src/metrics/prometheus-metrics.js';
import { hasStaticToken, staticTokenHeader } from '../src/auth/static-token.js';

const SCRAPE_SCOPES = [METRICS_SCOPE, ADMIN_SCOPE];

const metricsRoutes: FastifyPluginAsync = async (app) => {
  const metrics = createServerMetrics(app.mcp);
  app.addHook('onClose', async () => metrics.close());
  const staticToken = staticTokenHeader(app.mcpConfig.METRICS_TOKEN);

  async function mayScrape(request: FastifyRequest, reply: FastifyReply) {
    if (request.principal?.scopes.some((s) => SCRAPE_SCOPES.includes(s))) return;
    if (hasStaticToken(request.headers, staticToken)) return;
    if (app.mcpAuth.mode === 'jwt') {
      return app.mcpAuth.challenge(reply, 403, { error: 'insufficient_scope', scopes: [METRICS_SCOPE], description: 'missing scope: metrics (or admin)' });
    }
    // Both the socket and the client address (X-Forwarded-For from a trusted proxy) must be loopback.
    if (isLoopbackHost(request.socket.remoteAddress ?? '') && isLoopbackHost(request.ip)) return;
    return app.mcpAuth.challenge(reply, 403, { description: 'without authentication /metrics answers only callers on this machine (or METRICS_TOKEN)' });
  }

  // The auth guard lets METRICS_TOKEN through on this route (as a principal with the metrics scope).
  app.get('/metrics', { preHandler: mayScrape, config: { staticToken } }, async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.scrape();
  });
};


export default fp(metricsRoutes, { fastify: '5.x', name: 'realtime-mcp-route-metrics', encapsulate: true, dependencies: ['realtime-mcp-auth-guard'] });
