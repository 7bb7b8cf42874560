// GET /metrics: Prometheus text format (sessions by transport, calls running and queued, tool calls by
// tool, memory, CPU, event-loop delay; see src/metrics/prometheus-metrics.ts).
//
// Who may scrape. With AUTH_MODE=jwt: a token with the `metrics` or `admin` scope (the auth hook runs on
// /metrics as on /mcp, so no token → 401; a token without either scope → 403 insufficient_scope), on
// any bind. Loopback alone is not trusted there: a reverse proxy on the same machine makes every caller
// look local. With AUTH_MODE=none there is no token to ask for: only callers on this machine (socket
// and client address loopback), everyone else → 403.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../src/config.js';
import { ADMIN_SCOPE, METRICS_SCOPE } from '../src/auth/tool-scopes.js';
import { bearerChallenge } from '../src/auth/www-authenticate.js';
import { createServerMetrics } from '../src/metrics/prometheus-metrics.js';
import type {} from '../plugins/auth.js'; // the `mcpAuth` decorator's type

const SCRAPE_SCOPES = [METRICS_SCOPE, ADMIN_SCOPE];

const metricsRoutes: FastifyPluginAsync = async (app) => {
  const metrics = createServerMetrics(app.mcp);
  app.addHook('onClose', async () => metrics.close());

  const authOn = () => app.hasDecorator('mcpAuth') && app.mcpAuth.mode === 'jwt';

  async function mayScrape(request: FastifyRequest, reply: FastifyReply) {
    if (authOn()) {
      if (request.principal?.scopes.some((s) => SCRAPE_SCOPES.includes(s))) return;
      const description = 'missing scope: metrics (or admin)';
      const challenge = bearerChallenge({ error: 'insufficient_scope', scopes: [METRICS_SCOPE], description, resourceMetadataUrl: app.mcpAuth.resourceMetadataUrl() });
      return reply.code(403).header('WWW-Authenticate', challenge).send({ error: 'insufficient_scope', error_description: description });
    }
    // Both the socket and the client address (X-Forwarded-For from a trusted proxy) must be loopback.
    if (isLoopbackHost(request.socket.remoteAddress ?? '') && isLoopbackHost(request.ip)) return;
    return reply.code(403).send({ error: 'forbidden', error_description: 'without authentication /metrics answers only callers on this machine' });
  }

  app.get('/metrics', { preHandler: mayScrape }, async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.scrape();
  });
};

export default metricsRoutes;
