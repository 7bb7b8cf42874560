// Liveness and readiness for load balancers and curl. Open (no auth): they tell nothing about sessions.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Not ready while shutting down, or while the shared store (STORE=redis) is unreachable: a load balancer
  // then sends new clients to another node. Never "not ready" for having no sessions.
  app.get('/readyz', async (_request, reply) => {
    if (app.mcp.shuttingDown) return reply.code(503).send({ status: 'shutting down' });
    const { stores } = app.mcp;
    if (!stores.healthy) return reply.code(503).header('retry-after', '1').send({ status: 'store unavailable', store: stores.kind });
    return { status: 'ready', store: stores.kind, node: app.mcp.nodeId };
  });
};

export default fp(healthRoutes, { fastify: '5.x', name: 'realtime-mcp-route-health', encapsulate: true });
