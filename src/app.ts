// Build the standalone Fastify application: logger, HTTP server timeouts, and the realtime-mcp plugin.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { parseList } from './auth/lists.js';
import realtimeMcp, { type RealtimeMcpOptions } from '../plugins/realtime-mcp.js';

/**
 * Idle keep-alive above the 60 s idle timeout of common load balancers (AWS ALB, nginx's default 75 s
 * upstream keepalive is matched), so the balancer, not us, closes idle connections: no 502 races.
 */
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

export interface BuildAppOptions extends Omit<RealtimeMcpOptions, 'config'> {
  /** Where log lines go (default stdout); tests capture them to check that no token is logged. */
  logStream?: { write(line: string): void };
}

export async function buildApp(config: Config, buildOptions: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { logStream, ...options } = buildOptions;
  const trustedProxies = parseList(config.TRUSTED_PROXIES);
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      ...(logStream && { stream: logStream }),
      // Tokens never reach the logs, whatever a later serializer adds.
      redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'headers.authorization', 'headers["sec-websocket-protocol"]'], censor: '[redacted]' },
    },
    // Per-request logs would dominate the cost of small MCP POSTs; sessions are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    bodyLimit: config.MAX_PAYLOAD_BYTES,
    return503OnClosing: true,
    forceCloseConnections: false,
    // X-Forwarded-For decides request.ip (rate-limit key without auth) only when sent by a listed proxy.
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
  });
  await app.register(realtimeMcp, { ...options, config });
  return app;
}
