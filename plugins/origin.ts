// Origin and Host validation on the guarded routes, as an onRequest hook: before auth, before any
// upgrade, SSE stream or body. A present but disallowed Origin, or a Host this server does not answer
// to (DNS rebinding), gets 403. See src/auth/origin-policy.ts for the defaults.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { OriginPolicy } from '../src/auth/origin-policy.js';
import { Errors, RpcError } from '../src/errors.js';
import { sendHttpError } from './json-rpc-errors.js';

const originPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const policy = new OriginPolicy({
    // The address actually bound (a plugin inside someone's app learns it at listen), else HOST.
    bindHost: () => boundAddress(app.server.address()) || config.HOST,
    allowedOrigins: config.ALLOWED_ORIGINS,
    allowedHosts: config.ALLOWED_HOSTS,
    resourceUrl: config.RESOURCE_URL,
  });

  const failures = app.mcp.telemetry.authFailures;
  // Callback style, not async: this runs on every MCP request and needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (!policy.hostAllowed(request.headers.host)) {
      failures.host++;
      request.log.info({ host: request.headers.host }, 'refused request: Host not allowed');
      sendHttpError(reply, new RpcError(Errors.FORBIDDEN_ORIGIN, 'Forbidden: Host not allowed (set ALLOWED_HOSTS / allowedHosts)'));
      return;
    }
    if (!policy.originAllowed(request.headers.origin)) {
      failures.origin++;
      request.log.info({ origin: request.headers.origin }, 'refused request: Origin not allowed');
      sendHttpError(reply, new RpcError(Errors.FORBIDDEN_ORIGIN, 'Forbidden: Origin not allowed (set ALLOWED_ORIGINS / allowedOrigins)'));
      return;
    }
    done();
  });
};

function boundAddress(address: ReturnType<import('node:net').Server['address']>): string {
  return typeof address === 'object' && address !== null ? address.address : '';
}

export default fp(originPlugin, { fastify: '5.x', name: 'realtime-mcp-origin' });
