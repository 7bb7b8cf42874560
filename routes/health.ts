// Liveness and readiness for load balancers and curl.
import type { FastifyPluginAsync } from 'fastify';

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (app.mcp.shuttingDown) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready', sessions: app.mcp.sessions.size };
  });
};

export default healthRoutes;
