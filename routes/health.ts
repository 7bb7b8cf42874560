// Liveness and readiness for load balancers and curl. Open (no auth): they tell nothing about sessions.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (app.mcp.shuttingDown) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready' };
  });
};

export default fp(healthRoutes, { fastify: '5.x', name: 'realtime-mcp-route-health', encapsulate: true });
