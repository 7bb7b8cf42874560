// The standalone server: `npm start`. Loads config from the environment (and .env), listens, and
// shuts down gracefully on SIGTERM/SIGINT (exit 0), or exits 1 on a config error with one clear line.
import { loadConfig, isLoopbackHost, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { buildApp } from './app.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
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
}

function printBanner(hostPort: string, loopback: boolean): void {
  const lines = [
    `realtime-mcp listening on http://${hostPort}${loopback ? ' (loopback only)' : ''}`,
    `  WebSocket:    ws://${hostPort}/mcp/ws   (subprotocol "mcp")`,
    `  Health check: curl -s http://${hostPort}/healthz`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`realtime-mcp: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
