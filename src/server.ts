// The standalone server: `npm start`. Loads config from the environment (and .env), listens, and
// shuts down gracefully on SIGTERM/SIGINT (exit 0), or exits 1 on a config error with one clear line.
import { loadConfig, isLoopbackHost, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { buildApp } from './app.js';
import { checkAuthConfig } from './auth/auth-settings.js';
import { generateDevSecret, mintDevToken } from './auth/dev-token.js';
import { supportedScopes } from './auth/tool-scopes.js';
import { parseList } from './auth/lists.js';

async function main(): Promise<void> {
  let config: Config;
  let devSecret = false;
  try {
    config = loadConfig();
    // `npm start` with no auth configured, on loopback: a secret for this process and a printed token.
    if (config.AUTH_MODE === 'jwt' && config.JWT_SECRET === '' && config.JWKS_URL === '' && isLoopbackHost(config.HOST)) {
      config = { ...config, JWT_SECRET: generateDevSecret() };
      devSecret = true;
    }
    checkAuthConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`realtime-mcp: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await buildApp(config);
  if (typeof globalThis.gc === 'function' && process.env.REALTIME_MCP_GC_SIGNAL === '1') {
    // Benchmarks only (`node --expose-gc`): a full GC on SIGUSR2 makes bytes/session readings stable.
    process.on('SIGUSR2', () => globalThis.gc?.());
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      app.log.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS + 10_000);
    hardStop.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await app.listen({ host: config.HOST, port: config.PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  printBanner(`${host}:${port}`, isLoopbackHost(config.HOST));
  if (devSecret) {
    const token = await mintDevToken({
      secret: config.JWT_SECRET,
      audience: config.JWT_AUDIENCE || app.mcpAuth.resourceUrl(),
      issuer: config.JWT_ISSUER || undefined,
      scopes: supportedScopes(app.mcp.tools, parseList(config.REQUIRED_SCOPES, true)),
    });
    printDevToken(`${host}:${port}`, token);
  }
}

function printDevToken(hostPort: string, token: string): void {
  const lines = [
    '',
    'No JWT_SECRET or JWKS_URL set: using a random development secret for this process (loopback only).',
    'Token (subject "dev", every scope, valid 24 h):',
    `  ${token}`,
    'Try it:',
    `  curl -s http://${hostPort}/mcp -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\`,
    `    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'`,
    `  WebSocket clients: header "Authorization: Bearer <token>", or subprotocols ["mcp", "bearer.<token>"] from a browser.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function printBanner(hostPort: string, loopback: boolean): void {
  const lines = [
    `realtime-mcp listening on http://${hostPort}${loopback ? ' (loopback only)' : ''}`,
    `  WebSocket:    ws://${hostPort}/mcp/ws   (subprotocol "mcp")`,
    `  Streamable:   http://${hostPort}/mcp`,
    `  Legacy SSE:   http://${hostPort}/mcp/sse`,
    `  Health check: curl -s http://${hostPort}/healthz`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`realtime-mcp: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
