// Graceful shutdown inside Fastify's close(): while Fastify already answers new requests with 503
// (and /readyz says so), warn every session, let calls in flight finish within SHUTDOWN_GRACE_MS,
// abort the rest with a clear error, and close every transport as "going away" (WebSocket 1001).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

const shutdownPlugin: FastifyPluginAsync = async (app) => {
  app.addHook('preClose', async () => {
    await app.mcp.shutdown(app.mcpConfig.SHUTDOWN_GRACE_MS);
  });
};

export default fp(shutdownPlugin, { fastify: '5.x', name: 'realtime-mcp-shutdown', dependencies: ['realtime-mcp-core'] });
