// Shared state of the HTTP streaming transports (/mcp/sse and /mcp): one keepalive timer for every open
// SSE stream of this instance, stopped when the server closes.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { SseKeepalive } from '../src/transports/http/sse-stream.js';

declare module 'fastify' {
  interface FastifyInstance {
    mcpSseKeepalive: SseKeepalive;
  }
}

const ssePlugin: FastifyPluginAsync = async (app) => {
  const keepalive = new SseKeepalive(app.mcpConfig.SSE_KEEPALIVE_MS);
  app.decorate('mcpSseKeepalive', keepalive);
  app.addHook('onClose', async () => keepalive.stop());
};

export default fp(ssePlugin, { fastify: '5.x', name: 'realtime-mcp-sse' });
