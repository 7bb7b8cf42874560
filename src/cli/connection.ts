// Connect the SDK's `Client` to a server over one of our resumable transports, from the shared
// command-line options; and turn what can go wrong into exit codes and readable lines.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, Exit, UsageError, errorMessage } from './errors.js';
import { envValue, type CliIO } from './cli-env.js';
import { parseDuration } from './args.js';
import { createLogger, type Logger } from './log.js';
import { TRANSPORT_KINDS, createTransport, parseServerUrl, transportKindOf, type ResumableTransport, type TransportKind } from './transports/index.js';
import type { ConnectionStatus } from './transports/options.js';
import { CLI_VERSION } from './version.js';

export const DEFAULT_URL = 'ws://127.0.0.1:8080/mcp/ws';

export interface ConnectionArgs {
  url?: string;
  token?: string;
  transport?: string;
  heartbeat?: string;
  verbose?: boolean;
}

export interface Target {
  url: URL;
  kind: TransportKind;
  token: string | undefined;
  heartbeatMs: number;
}

/** URL, transport and token from the options and the environment (REALTIME_MCP_URL, REALTIME_MCP_TOKEN). */
export function resolveTarget(args: ConnectionArgs, io: CliIO, positionalUrl?: string): Target {
  const url = parseServerUrl(positionalUrl ?? args.url ?? envValue(io.env, 'REALTIME_MCP_URL') ?? DEFAULT_URL);
  let kind = transportKindOf(url);
  if (args.transport !== undefined) {
    if (!TRANSPORT_KINDS.includes(args.transport as TransportKind)) {
      throw new UsageError(`--transport must be one of ${TRANSPORT_KINDS.join(', ')} (got ${JSON.stringify(args.transport)})`);
    }
    kind = args.transport as TransportKind;
  }
  const heartbeatMs = parseDuration(args.heartbeat ?? '15s', '--heartbeat');
  return { url, kind, token: args.token ?? envValue(io.env, 'REALTIME_MCP_TOKEN'), heartbeatMs };
}

export interface Connected {
  client: Client;
  transport: ResumableTransport;
  log: Logger;
  /** True once the connection has closed (the SDK then rejects pending requests with -32000). */
  readonly closed: boolean;
}

export async function connect(
  target: Target,
  io: CliIO,
  o: { verbose?: boolean; onstatus?: (s: ConnectionStatus) => void } = {},
): Promise<Connected> {
  const log = createLogger(o.verbose ? 'debug' : 'warn', (line) => void io.stderr.write(line));
  const transport = createTransport(target.url, target.kind, {
    token: target.token,
    log,
    heartbeatMs: target.heartbeatMs,
    onstatus: o.onstatus,
  });
  const client = new Client({ name: 'realtime-mcp-cli', version: CLI_VERSION }, { capabilities: {} });
  client.onerror = (err) => log.debug(`client: ${errorMessage(err)}`);
  log.debug(`connecting to ${target.url} (${target.kind})`);
  try {
    await client.connect(transport);
  } catch (err) {
    throw transport.fatalError ?? asConnectFailure(err, target);
  }
  let closed = false;
  client.onclose = () => {
    closed = true;
  };
  log.debug(`connected: session ${transport.serverSessionId?.slice(0, 8) ?? '(none)'}…, server ${client.getServerVersion()?.name ?? '?'} ${client.getServerVersion()?.version ?? ''}`);
  return {
    client,
    transport,
    log,
    get closed() {
      return closed;
    },
  };
}

function asConnectFailure(err: unknown, target: Target): Error {
  if (err instanceof ConnectionError || err instanceof UsageError) return err;
  if (err instanceof McpError) {
    return new ConnectionError(`the server refused to initialize (${err.code}): ${err.message}`, { kind: 'http' });
  }
  return new ConnectionError(`cannot connect to ${target.url}: ${errorMessage(err)}`, { kind: 'network' });
}

/** Exit code and stderr line for an error that ended a command. */
export function reportFailure(err: unknown, io: CliIO, connection?: Pick<Connected, 'transport' | 'closed'>): number {
  const transport = connection?.transport;
  const fatal = transport?.fatalError;
  if (fatal !== undefined && !(err instanceof UsageError)) {
    io.stderr.write(`realtime-mcp: ${fatal.message}\n`);
    return Exit.CONNECTION;
  }
  if (err instanceof UsageError) {
    io.stderr.write(`realtime-mcp: ${err.message}\n`);
    return Exit.USAGE;
  }
  if (err instanceof ConnectionError) {
    io.stderr.write(`realtime-mcp: ${err.message}\n`);
    return Exit.CONNECTION;
  }
  // -32000 is both the SDK's "Connection closed" and a common tool error code: only the state tells.
  if (err instanceof McpError && ((err.code === ErrorCode.ConnectionClosed && connection?.closed) || err.code === ErrorCode.RequestTimeout)) {
    io.stderr.write(`realtime-mcp: ${err.code === ErrorCode.RequestTimeout ? 'no answer from the server in time' : 'the connection closed'}: ${err.message}\n`);
    return Exit.CONNECTION;
  }
  if (err instanceof McpError) {
    io.stderr.write(`realtime-mcp: error ${err.code}: ${stripCode(err.message)}${err.data !== undefined ? ` ${JSON.stringify(err.data)}` : ''}\n`);
    return Exit.TOOL_ERROR;
  }
  io.stderr.write(`realtime-mcp: ${errorMessage(err)}\n`);
  return Exit.TOOL_ERROR;
}

/** McpError prefixes its message with "MCP error <code>: ". */
export function stripCode(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '');
}

/** A line for a connection status event (reconnecting, resumed). */
export function describeStatus(s: ConnectionStatus): string {
  switch (s.type) {
    case 'dropped':
      return `connection lost (${s.reason}); resuming the session…`;
    case 'reconnecting':
      return `reconnect attempt ${s.attempt} in ${(s.delayMs / 1000).toFixed(1)} s${s.attempt > 1 ? ` (last: ${s.reason})` : ''}`;
    case 'resumed':
      return `reconnected and resumed the session${s.attempts > 1 ? ` after ${s.attempts} attempts` : ''}`;
  }
}
