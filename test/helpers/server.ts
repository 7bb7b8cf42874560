// Start a real realtime-mcp server on a free loopback port for a test, with optional extra tools.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../plugins/standalone.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { ToolDefinition } from '../../src/tools/define.js';

export interface TestServer {
  app: FastifyInstance;
  port: number;
  httpUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startServer(
  options: { config?: Partial<Config>; tools?: ToolDefinition<any>[]; logStream?: { write(line: string): void } } = {},
): Promise<TestServer> {
  // Tests that pass no auth settings talk to a loopback server without tokens; auth tests pass AUTH_MODE etc.
  const config = loadConfig({}, { PORT: 0, LOG_LEVEL: 'silent', SHUTDOWN_GRACE_MS: 0, AUTH_MODE: 'none', ...options.config });
  const app = await buildApp(config, { tools: options.tools, logStream: options.logStream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/mcp/ws`,
    close: () => app.close(),
  };
}
