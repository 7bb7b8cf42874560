// The whole server as one encapsulated Fastify plugin:
//   app.register(realtimeMcp, { prefix: '/v1', tools: [myTool], auth: { mode: 'none' } })
// Everything it adds lives in its own encapsulation context: its decorators, its hooks (Origin/Host,
// authentication, rate and connection limits apply to its MCP routes only, never to the host's routes),
// its body parsing and error handler. `prefix` applies to every route it adds and every URL it sends.
// Two instances with different prefixes and tools can live in one app. The standalone server
// (standalone.ts) is this plugin plus the environment's settings.
//
// Layout: the open part (health checks, RFC 9728 metadata, the dashboard page) and the guarded part
// (the MCP transports, /admin, /metrics) are sibling contexts; the guards are registered in the guarded one.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { checkAuthConfig } from '../src/auth/auth-settings.js';
import type { Config } from '../src/config.js';
import { createCoreFromConfig } from '../src/create-core.js';
import { createStores } from '../src/stores/index.js';
import type { McpCore } from '../src/mcp-core.js';
import type { Principal } from '../src/sessions/principal.js';
import { resolveConfig, type RealtimeMcpOptions } from './options.js';
import websocketSupport from './websocket.js';
import sseSupport from './sse.js';
import authSupport, { authGuard } from './auth.js';
import originGuard from './origin.js';
import rateLimitGuard from './rate-limit.js';
import jsonRpcErrors from './json-rpc-errors.js';
import refusedUpgrades from './refused-upgrades.js';
import healthRoutes from '../routes/health.js';
import wellKnownRoutes from '../routes/well-known.js';
import mcpWebSocketRoute from '../routes/mcp-ws.js';
import mcpSseRoutes from '../routes/mcp-sse.js';
import mcpStreamableRoutes from '../routes/mcp-streamable.js';
import adminRoutes from '../routes/admin.js';
import metricsRoutes from '../routes/metrics.js';
import dashboardRoutes from '../routes/dashboard.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The realtime-mcp core of this plugin instance (inside its encapsulation context). */
    mcp: McpCore;
    mcpConfig: Config;
  }
  interface FastifyRequest {
    /** The caller, set by the auth guard on MCP routes (anonymous when auth is off). */
    principal: Principal | undefined;
  }
}

const realtimeMcp: FastifyPluginAsync<RealtimeMcpOptions> = async (app, opts) => {
  const config = resolveConfig(opts);
  checkAuthConfig(config); // unsafe or incomplete auth stops registration with one clear line
  // `store: 'redis'` (STORE=redis) without a `stores` object: the plugin connects, and closes with the app.
  let stores = opts.stores;
  if (opts.core === undefined && stores === undefined && config.STORE === 'redis') {
    const created = await createStores(config, app.log);
    app.addHook('onClose', async () => created.close());
    stores = created;
  }
  const core = opts.core ?? createCoreFromConfig(config, {
    tools: opts.tools,
    builtinTools: opts.builtinTools ?? false,
    identity: opts.identity,
    logger: app.log,
    stores,
  });
  await core.start();
  decorateCore(app, core);
  app.decorate('mcpConfig', config);
  app.decorateRequest('principal', undefined);
  await app.register(authSupport);
  await app.register(websocketSupport);
  await app.register(sseSupport);
  await app.register(jsonRpcErrors);
  // Graceful shutdown inside Fastify's close(): while Fastify answers new requests with 503, warn every
  // session, let calls in flight finish within SHUTDOWN_GRACE_MS, abort the rest, close every transport.
  // After the websocket support's own preClose, which makes refused upgrades end their sockets meanwhile.
  app.addHook('preClose', async () => core.shutdown(config.SHUTDOWN_GRACE_MS));

  // Open: health checks, metadata, the dashboard page (its data comes over the authenticated WebSocket).
  await app.register(healthRoutes);
  await app.register(wellKnownRoutes);
  if (opts.dashboard) await app.register(dashboardRoutes);

  // Guarded: in order Origin/Host (403), authentication (401/403), limits (429), for these routes only.
  await app.register(async (guarded) => {
    await guarded.register(refusedUpgrades);
    await guarded.register(originGuard);
    await guarded.register(authGuard);
    await guarded.register(rateLimitGuard);
    await guarded.register(mcpWebSocketRoute);
    await guarded.register(mcpSseRoutes);
    await guarded.register(mcpStreamableRoutes);
    if (opts.admin) await guarded.register(adminRoutes);
    if (opts.metrics) await guarded.register(metricsRoutes);
  });
};

/** `mcp` may already be visible from a parent (the standalone app decorates its core at the root). */
function decorateCore(app: FastifyInstance, core: McpCore): void {
  if (!app.hasDecorator('mcp')) {
    app.decorate('mcp', core);
    return;
  }
  if (app.mcp !== core) throw new Error('realtime-mcp: "mcp" is already decorated on this Fastify instance with another core');
}

export default realtimeMcp;
export { realtimeMcp };
export type { RealtimeMcpOptions };
