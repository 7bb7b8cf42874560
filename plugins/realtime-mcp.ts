// The whole server as one Fastify plugin: `app.register(realtimeMcp, { tools })`.
// Order matters: shared state first, then the HTTP-layer guards, then the routes that use them.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import corePlugin, { type RealtimeMcpOptions } from './mcp-core.js';
import principalPlugin from './principal.js';
import originPlugin from './origin.js';
import authPlugin from './auth.js';
import rateLimitPlugin from './rate-limit.js';
import websocketPlugin from './websocket.js';
import ssePlugin from './sse.js';
import shutdownPlugin from './shutdown.js';
import healthRoutes from '../routes/health.js';
import wellKnownRoutes from '../routes/well-known.js';
import mcpWebSocketRoute from '../routes/mcp-ws.js';
import mcpSseRoutes from '../routes/mcp-sse.js';
import mcpStreamableRoutes from '../routes/mcp-streamable.js';
import adminRoutes from '../routes/admin.js';
import metricsRoutes from '../routes/metrics.js';

const realtimeMcp: FastifyPluginAsync<RealtimeMcpOptions> = async (app, opts) => {
  await app.register(corePlugin, opts);
  await app.register(principalPlugin);
  await app.register(websocketPlugin);
  await app.register(ssePlugin);
  // Guards on every MCP route, as onRequest hooks in this order: Origin/Host (403), auth (401/403), rate
  // limits (429). After the websocket plugin: its onRequest hook marks upgrade requests so that a refused
  // upgrade's socket is destroyed once the refusal is written (else app.close() waits on it forever).
  await app.register(originPlugin);
  await app.register(authPlugin);
  await app.register(rateLimitPlugin);
  await app.register(shutdownPlugin);
  await app.register(healthRoutes);
  await app.register(wellKnownRoutes);
  await app.register(mcpWebSocketRoute);
  await app.register(mcpSseRoutes);
  await app.register(mcpStreamableRoutes);
  await app.register(adminRoutes);
  await app.register(metricsRoutes);
  await app.register(import('../routes/dashboard.js')); // GET /dashboard: static page, data over /mcp/ws
};

export default fp(realtimeMcp, { fastify: '5.x', name: 'realtime-mcp' });
export type { RealtimeMcpOptions };
