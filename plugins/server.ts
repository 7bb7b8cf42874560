// The standalone server's process: `npm start` (through start.cts) and `realtime-mcp serve`. Loads the
// settings from the environment (and .env), listens, and shuts down gracefully on SIGTERM/SIGINT
// (exit 0), or exits 1 on a config error with one clear line.
import { loadConfig, isLoopbackHost, type Config } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { checkAuthConfig } from '../src/auth/auth-settings.js';
import { generateDevSecret, mintDevToken } from '../src/auth/dev-token.js';
import { supportedScopes } from '../src/auth/tool-scopes.js';
import { parseList } from '../src/auth/lists.js';
import { resourceUrlFor } from '../src/auth/resource.js';
import { buildApp } from './standalone.js';
import { pathToFileURL } from 'node:url';

export async function serve(): Promise<void> {
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
  const tls = config.TLS_CERT_FILE !== '';
  printBanner(`${host}:${port}`, isLoopbackHost(config.HOST), tls);
  if (devSecret) {
    const token = await mintDevToken({
      secret: config.JWT_SECRET,
      audience: config.JWT_AUDIENCE || resourceUrlFor(config.RESOURCE_URL, config.HOST, port, '', config.TLS_CERT_FILE !== ''),
      issuer: config.JWT_ISSUER || undefined,
      scopes: supportedScopes(app.mcp.tools, parseList(config.REQUIRED_SCOPES, true)),
    });
    printDevToken(`${host}:${port}`, token, tls);
  }
}

function printDevToken(hostPort: string, token: string, tls: boolean): void {
  const http = tls ? 'https' : 'http';
  const lines = [
    '',
    'No JWT_SECRET or JWKS_URL set: using a random development secret for this process (loopback only).',
    'Token (subject "dev", every scope, valid 24 h):',
    `  ${token}`,
    'Try it:',
    `  curl -s ${http}://${hostPort}/mcp -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\`,
    `    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'`,
    `  WebSocket clients: header "Authorization: Bearer <token>", or subprotocols ["mcp", "bearer.<token>"] from a browser.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function printBanner(hostPort: string, loopback: boolean, tls: boolean): void {
  const [http, ws] = tls ? ['https', 'wss'] : ['http', 'ws'];
  const lines = [
    `realtime-mcp listening on ${http}://${hostPort}${loopback ? ' (loopback only)' : ''}`,
    `  WebSocket:    ${ws}://${hostPort}/mcp/ws   (subprotocol "mcp")`,
    `  Streamable:   ${http}://${hostPort}/mcp`,
    `  Legacy SSE:   ${http}://${hostPort}/mcp/sse`,
    `  Dashboard:    ${http}://${hostPort}/dashboard`,
    `  Health check: curl -s ${http}://${hostPort}/healthz`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Run `serve()` as the process's main job: a startup failure is one line on stderr and exit 1. */
export function runServe(): void {
  serve().catch((err) => {
    process.stderr.write(`realtime-mcp: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

// Run directly (`node dist/plugins/server.js`, `tsx plugins/server.ts`): serve.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runServe();
