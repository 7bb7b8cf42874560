// Build the standalone Fastify application: logger, HTTP server timeouts, and the realtime-mcp plugin.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import realtimeMcp, { type RealtimeMcpOptions } from '../plugins/realtime-mcp.js';

/**
 * Idle keep-alive above the 60 s idle timeout of common load balancers (AWS ALB, nginx's default 75 s
 * upstream keepalive is matched), so the balancer, not us, closes idle connections: no 502 races.
 */
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

export async function buildApp(config: Config, options: Omit<RealtimeMcpOptions, 'config'> = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      // Tokens never reach the logs, whatever a later serializer adds.
      redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'headers.authorization'], censor: '[redacted]' },
    },
    // Per-request logs would dominate the cost of small MCP POSTs; sessions are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    bodyLimit: config.MAX_PAYLOAD_BYTES,
    return503OnClosing: true,
    forceCloseConnections: false,
  });
  await app.register(realtimeMcp, { ...options, config });
  return app;
}
