// Command-line parsing helpers on node:util parseArgs: usage errors instead of stack traces, durations,
// and the connection options shared by the client commands.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

export function parse<O extends Options>(args: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^Unknown option/, 'unknown option'));
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h", "30m", "15s", "250ms", "2d", or a bare number of `bareUnit`; returns milliseconds. */
export function parseDuration(text: string, what: string, bareUnit: keyof typeof UNITS = 's'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what} must be a duration such as 90s, 10m, 1h or 7d (got ${JSON.stringify(text)})`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? bareUnit]!);
}

/** Options of every command that talks to a server. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string', short: 'u' },
  token: { type: 'string' },
  transport: { type: 'string' },
  heartbeat: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const CONNECTION_HELP = `Connection:
  -u, --url URL          server URL (default: $REALTIME_MCP_URL or ws://127.0.0.1:8080/mcp/ws)
                         ws(s)://…  WebSocket · http(s)://…/mcp/sse  legacy HTTP+SSE · http(s)://…  Streamable HTTP
      --transport KIND   override the choice from the URL: ws, sse or streamable
      --token TOKEN      Bearer token (default: $REALTIME_MCP_TOKEN; prefer the variable: arguments show in ps)
      --heartbeat DUR    WebSocket ping interval: a connection that stays silent that long is resumed
                         on a new one (default 15s; 0 = off)
  -v, --verbose          log connection details to stderr`;
