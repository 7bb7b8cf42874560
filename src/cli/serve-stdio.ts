// `realtime-mcp serve --stdio`: the same core (tools, resources, runner) over stdin/stdout, one session
// for the process, as MCP hosts launch local servers. Settings come from the environment (and .env) as
// for the HTTP server; nothing but JSON-RPC goes to stdout, logs go to stderr. Authentication does not
// apply: whoever can start the process is the client.
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { createCoreFromConfig } from '../create-core.js';
import type { CoreLogger } from '../mcp-core.js';
import { StdioTransport } from '../transports/stdio/stdio-transport.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** JSON log lines on stderr at or above `level` (pino's shape, so the same tools read both servers' logs). */
function stderrLogger(level: string): CoreLogger {
  const min = level === 'silent' ? Infinity : LEVELS.indexOf(level as (typeof LEVELS)[number]);
  const line = (lvl: number, name: string) => (obj: object, msg: string) => {
    if (lvl < min) return;
    process.stderr.write(`${JSON.stringify({ level: name, time: Date.now(), ...obj, msg })}\n`);
  };
  return { debug: line(1, 'debug'), info: line(2, 'info'), warn: line(3, 'warn'), error: line(4, 'error') };
}

export async function serveStdio(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`realtime-mcp: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = stderrLogger(config.LOG_LEVEL);
  const core = createCoreFromConfig(config, { builtinTools: true, logger });
  await core.start();
  const session = core.createSession('stdio', undefined);
  const transport = new StdioTransport(session, core, process.stdin, process.stdout, { maxLineBytes: config.MAX_PAYLOAD_BYTES });
  const stop = () => void core.shutdown(config.SHUTDOWN_GRACE_MS).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  logger.info({ tools: core.tools.list().length }, 'serving MCP over stdio');
  await transport.done;
  await core.shutdown(0);
  return 0;
}
