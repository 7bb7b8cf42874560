// `realtime-mcp connect <url>`: the stdio bridge (see ../bridge.ts) for MCP hosts that launch servers
// as local processes. stdout carries only JSON-RPC; every log line goes to stderr; the token comes from
// REALTIME_MCP_TOKEN and is never logged.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parse } from '../args.js';
import { Exit, UsageError, ConnectionError } from '../errors.js';
import { envValue, type CliIO } from '../cli-env.js';
import { createLogger, parseLogLevel } from '../log.js';
import { resolveTarget } from '../connection.js';
import { createTransport } from '../transports/index.js';
import { StdioBridge } from '../bridge.js';
import { describeStatus } from '../connection.js';

export const CONNECT_HELP = `Usage: realtime-mcp connect [URL] [options]

Run a stdio MCP server that relays everything to a remote MCP server: point Claude Desktop, Claude
Code or Cursor at this command. One upstream connection with heartbeat; when the network drops it
reconnects with backoff and resumes the session, so a running call survives. stdout is pure
JSON-RPC (one message per line); logs go to stderr.

Arguments:
  URL                    remote server (default: $REALTIME_MCP_URL or ws://127.0.0.1:8080/mcp/ws)
                         ws(s)://…  WebSocket · http(s)://…/mcp/sse  legacy HTTP+SSE · http(s)://…  Streamable HTTP

Options:
      --transport KIND   override the choice from the URL: ws, sse or streamable
      --heartbeat DUR    WebSocket ping interval; a connection silent for one interval is resumed
                         (default 15s; 0 = off)
      --log-level LEVEL  stderr verbosity: silent, error, warn, info (default), debug
                         (or $REALTIME_MCP_LOG_LEVEL)
  -h, --help             this help

Environment:
  REALTIME_MCP_TOKEN     Bearer token for the remote server (never logged)

Exit codes: 0 the host closed stdin, 2 usage, 3 authentication refused or the first connection failed.`;

export async function connectCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    transport: { type: 'string' },
    heartbeat: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${CONNECT_HELP}\n`);
    return Exit.OK;
  }
  if (positionals.length > 1) throw new UsageError(`connect takes one URL (got ${positionals.join(' ')})`);
  const levelText = values['log-level'] ?? envValue(io.env, 'REALTIME_MCP_LOG_LEVEL');
  const level = parseLogLevel(levelText, 'info');
  if (levelText !== undefined && level !== levelText) throw new UsageError(`--log-level must be silent, error, warn, info or debug (got ${JSON.stringify(levelText)})`);
  const target = resolveTarget({ transport: values.transport, heartbeat: values.heartbeat }, io, positionals[0]);
  const log = createLogger(level, (line) => void io.stderr.write(line));

  const bridge = new StdioBridge({
    upstream: () =>
      createTransport(target.url, target.kind, {
        token: target.token,
        log,
        heartbeatMs: target.heartbeatMs,
        // The host may start before the server: keep trying to connect; after a drop, try for as long
        // as the session can still be resumed, then the bridge opens a new one.
        connectAttempts: Infinity,
        reconnect: { maxMs: 10_000, maxAttempts: 12 },
        onstatus: (s) => (s.type === 'reconnecting' ? log.debug(describeStatus(s)) : log.info(describeStatus(s))),
      }),
    downstream: new StdioServerTransport(io.stdin as never, io.stdout as never),
    log,
    backoff: { baseMs: 500, maxMs: 30_000, maxAttempts: Infinity },
  });
  log.info(`relaying stdio to ${target.url} (${target.kind})${target.token ? '' : ' without a token (REALTIME_MCP_TOKEN is not set)'}`);
  // The host closing stdin (or signalling) ends the bridge and, with it, the upstream session.
  const stopOn = () => void bridge.stop(Exit.OK);
  const removeInterrupt = io.onInterrupt(stopOn);
  process.on('SIGTERM', stopOn);
  io.stdin.once('end', stopOn);
  try {
    await bridge.start();
    return await bridge.done;
  } catch (err) {
    if (bridge.isStopped) return await bridge.done; // the host went away while we were connecting
    await bridge.stop(Exit.CONNECTION);
    log.error(err instanceof ConnectionError ? err.message : String(err));
    return Exit.CONNECTION;
  } finally {
    removeInterrupt();
    process.off('SIGTERM', stopOn);
    io.stdin.off('end', stopOn);
  }
}
