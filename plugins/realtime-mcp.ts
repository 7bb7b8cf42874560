// The whole server as one Fastify plugin: `app.register(realtimeMcp, { tools })`.
// Order matters: shared state first, then the HTTP-layer guards, then the routes that use them.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import corePlugin, { type RealtimeMcpOptions } from './mcp-core.js';
import principalPlugin from './principal.js';
import websocketPlugin from './websocket.js';
import shutdownPlugin from './shutdown.js';
import healthRoutes from '../routes/health.js';
import mcpWebSocketRoute from '../routes/mcp-ws.js';

const realtimeMcp: FastifyPluginAsync<RealtimeMcpOptions> = async (app, opts) => {
  await app.register(corePlugin, opts);
  await app.register(principalPlugin);
  await app.register(websocketPlugin);
  await app.register(shutdownPlugin);
  await app.register(healthRoutes);
  await app.register(mcpWebSocketRoute);
};

export default fp(realtimeMcp, { fastify: '5.x', name: 'realtime-mcp' });
export type { RealtimeMcpOptions };
