// Origin and Host validation on MCP routes, as an onRequest hook: before auth, before any upgrade,
// SSE stream or body. A present but disallowed Origin, or a Host this server does not answer to
// (DNS rebinding), gets 403. See src/auth/origin-policy.ts for the defaults.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { OriginPolicy } from '../src/auth/origin-policy.js';
import { isGuardedRequest } from '../src/auth/guarded-paths.js';

const originPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const policy = new OriginPolicy({
    bindHost: config.HOST,
    allowedOrigins: config.ALLOWED_ORIGINS,
    allowedHosts: config.ALLOWED_HOSTS,
    resourceUrl: config.RESOURCE_URL,
  });

  // Callback style, not async: this runs on every MCP request and needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (!isGuardedRequest(request.routeOptions.url, request.url)) return done();
    if (!policy.hostAllowed(request.headers.host)) {
      request.log.info({ host: request.headers.host }, 'refused request: Host not allowed');
      reply.code(403).send({ error: 'forbidden', error_description: 'Host not allowed (set ALLOWED_HOSTS)' });
      return;
    }
    const origin = request.headers.origin;
    if (!policy.originAllowed(origin)) {
      request.log.info({ origin }, 'refused request: Origin not allowed');
      reply.code(403).send({ error: 'forbidden', error_description: 'Origin not allowed (set ALLOWED_ORIGINS)' });
      return;
    }
    done();
  });
};

export default fp(originPlugin, { fastify: '5.x', name: 'realtime-mcp-origin', dependencies: ['realtime-mcp-core'] });
