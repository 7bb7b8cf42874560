// `realtime-mcp call <tool> ['<json args>']`: call one tool with live progress, survive network drops
// (the transports resume the session), cancel on Ctrl-C, print the result.
import { readFileSync } from 'node:fs';
import { McpError, LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, parse, parseDuration } from '../args.js';
import { Exit, UsageError, errorMessage } from '../errors.js';
import type { CliIO } from '../cli-env.js';
import { connect, describeStatus, reportFailure, resolveTarget, stripCode, type Connected } from '../connection.js';
import { createView, viewMode, RateEstimator, type CallView } from '../progress-view.js';
import { sleep } from '../backoff.js';
import type { ConnectionStatus } from '../transports/options.js';

export const CALL_HELP = `Usage: realtime-mcp call TOOL ['{"json":"arguments"}'] [options]

Call a tool and show its progress live: a bar on a terminal (percent, count/total, rate, ETA,
message), one line per update otherwise, or JSON lines with --json. The result's text goes to
stdout. A dropped connection is resumed (nothing lost, nothing twice). Ctrl-C cancels the call
(notifications/cancelled) and prints what the server reported.

Arguments:
  TOOL                   tool name (see \`realtime-mcp tools\`)
  JSON                   the tool's arguments as a JSON object (default {}); - reads them from stdin

Options:
      --json             one JSON object per line on stdout: {"type":"progress",…}, {"type":"log",…},
                         {"type":"connection",…}, then {"type":"result",…} / "error" / "cancelled"
      --timeout DURATION give up when the server sends nothing (no progress) for this long (default 10m)
  -h, --help             this help
${CONNECTION_HELP}

Examples:
  realtime-mcp call process_batch '{"count":50,"delayMs":20}'
  realtime-mcp call process_images '{"inputDir":"photos","outputDir":"thumbs","width":128,"format":"webp"}' --url http://127.0.0.1:8080/mcp
  REALTIME_MCP_TOKEN=… realtime-mcp call echo '{"text":"hi"}' --json

Exit codes: 0 success, 1 tool error (isError result or JSON-RPC error), 2 usage,
3 connection or authentication failure, 130 cancelled (Ctrl-C).`;

const CANCEL_REASON = 'cancelled by the user (Ctrl-C)';

export async function callCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONNECTION_OPTIONS,
    json: { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${CALL_HELP}\n`);
    return Exit.OK;
  }
  const [tool, rawArgs, ...extra] = positionals;
  if (tool === undefined) throw new UsageError('call needs a tool name: realtime-mcp call TOOL [\'{"json":"arguments"}\']');
  if (extra.length > 0) throw new UsageError(`call takes one JSON argument object (got extra: ${extra.join(' ')}); quote the JSON`);
  const args = parseToolArguments(rawArgs === '-' ? readFileSync(0, 'utf8') : rawArgs);
  const timeoutMs = parseDuration(values.timeout ?? '10m', '--timeout');
  const target = resolveTarget(values, io);
  const mode = viewMode(io, values.json === true);
  const view = createView(mode, io, tool);

  const onstatus = (s: ConnectionStatus) => {
    const { type, ...details } = s;
    view.status(describeStatus(s), { event: type, ...details });
  };
  let connected: Connected | undefined;
  try {
    connected = await connect(target, io, { verbose: values.verbose, onstatus });
  } catch (err) {
    view.stop();
    return reportFailure(err, io);
  }
  const { client, transport } = connected;
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    const data = typeof n.params.data === 'string' ? n.params.data : JSON.stringify(n.params.data);
    view.log(n.params.level, n.params.logger ? `${n.params.logger}: ${data}` : data);
  });

  // Remember the JSON-RPC id of our tools/call: the cancellation report looks the call up by it.
  let callId: string | number | undefined;
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const m = message as { method?: string; id?: string | number };
    if (m.method === 'tools/call' && callId === undefined) callId = m.id;
    return send(message, options);
  };

  const cancel = new AbortController();
  let interrupts = 0;
  const removeHandler = io.onInterrupt(() => {
    interrupts++;
    if (interrupts === 1) cancel.abort(CANCEL_REASON);
    else {
      view.stop();
      io.stderr.write('realtime-mcp: interrupted again: exiting without waiting for the server\n');
      process.exit(Exit.CANCELLED);
    }
  });

  const rates = new RateEstimator();
  let last: { progress: number; total?: number } | undefined;
  try {
    const result = (await client.callTool({ name: tool, arguments: args }, undefined, {
      signal: cancel.signal,
      timeout: timeoutMs,
      resetTimeoutOnProgress: true,
      onprogress: (p) => {
        const meta = (p as { _meta?: { rate?: unknown; etaMs?: unknown; unit?: unknown } })._meta;
        const local = rates.update(p.progress, p.total);
        const rate = typeof meta?.rate === 'number' ? meta.rate : local.rate;
        const etaMs = typeof meta?.etaMs === 'number' ? meta.etaMs : local.etaMs;
        last = { progress: p.progress, total: p.total };
        const unit = typeof meta?.unit === 'string' ? meta.unit : undefined;
        view.progress({ progress: p.progress, total: p.total, message: p.message, rate, etaMs, unit });
      },
    })) as CallToolResult;
    view.stop();
    printResult(result, mode, io);
    return result.isError ? Exit.TOOL_ERROR : Exit.OK;
  } catch (err) {
    view.stop();
    if (cancel.signal.aborted) {
      await reportCancellation(client, connected, callId, last, view, mode, io);
      return Exit.CANCELLED;
    }
    if (mode === 'json' && err instanceof McpError && !connected.closed) {
      view.event({ type: 'error', code: err.code, message: stripCode(err.message), ...(err.data !== undefined && { data: err.data }) });
    }
    return reportFailure(err, io, connected);
  } finally {
    removeHandler();
    await client.close().catch(() => {});
  }
}

export function parseToolArguments(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`the tool arguments are not valid JSON (${errorMessage(err)}): ${raw.length > 80 ? `${raw.slice(0, 80)}…` : raw}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError('the tool arguments must be a JSON object, e.g. \'{"count":50}\'');
  }
  return parsed as Record<string, unknown>;
}

/** The result's contents, plainly: text as is, other blocks as one-line placeholders. */
export function resultText(result: CallToolResult): string {
  const lines: string[] = [];
  for (const block of result.content ?? []) {
    switch (block.type) {
      case 'text':
        lines.push(block.text);
        break;
      case 'image':
      case 'audio':
        lines.push(`[${block.type} ${block.mimeType}, ${Math.floor((block.data.length * 3) / 4)} bytes]`);
        break;
      case 'resource':
        lines.push('text' in block.resource ? String(block.resource.text) : `[resource ${block.resource.uri}]`);
        break;
      case 'resource_link':
        lines.push(`[resource ${block.uri}${block.name ? ` ${block.name}` : ''}]`);
        break;
      default:
        lines.push(JSON.stringify(block));
    }
  }
  if (lines.length === 0 && result.structuredContent !== undefined) lines.push(JSON.stringify(result.structuredContent, null, 2));
  return lines.join('\n');
}

function printResult(result: CallToolResult, mode: string, io: CliIO): void {
  if (mode === 'json') {
    const o: Record<string, unknown> = { type: 'result', isError: result.isError === true, content: result.content };
    if (result.structuredContent !== undefined) o.structuredContent = result.structuredContent;
    io.stdout.write(`${JSON.stringify(o)}\n`);
    return;
  }
  const text = resultText(result);
  if (text !== '') io.stdout.write(`${text}\n`);
  if (result.isError) io.stderr.write('realtime-mcp: the tool reported an error (isError)\n');
}

interface OperationView {
  requestId: string | number;
  session: string;
  tool: string;
  state: string;
  progress: number | null;
  total: number | null;
  reason?: string;
}

/**
 * After notifications/cancelled the server sends no response (MCP). realtime-mcp lists its calls in
 * `realtime://operations`: read it until our call shows how it ended, so we can say what the server
 * did (state, where it stopped, why). Servers without that resource: report what we know.
 */
async function reportCancellation(
  client: Client,
  connected: Connected,
  callId: string | number | undefined,
  last: { progress: number; total?: number } | undefined,
  view: CallView,
  mode: string,
  io: CliIO,
): Promise<void> {
  const op = callId === undefined ? undefined : await serverView(client, callId, connected.transport.serverSessionId, 3000);
  if (mode === 'json') {
    view.event({ type: 'cancelled', requestId: callId ?? null, lastProgress: last?.progress ?? null, total: last?.total ?? null, server: op ?? null });
    return;
  }
  const where = op?.progress != null ? `${op.progress}${op.total != null ? `/${op.total}` : ''}` : last ? `${last.progress}${last.total !== undefined ? `/${last.total}` : ''}` : undefined;
  if (op !== undefined) {
    io.stderr.write(`realtime-mcp: cancelled: the server stopped ${op.tool}${where ? ` at ${where}` : ''} (state: ${op.state}${op.reason ? `, reason: ${op.reason}` : ''})\n`);
  } else {
    io.stderr.write(`realtime-mcp: cancellation sent${where ? ` at ${where}` : ''}; the server did not report how the call ended\n`);
  }
}

async function serverView(client: Client, callId: string | number, sessionId: string | undefined, budgetMs: number): Promise<OperationView | undefined> {
  if (client.getServerCapabilities()?.resources === undefined) return undefined;
  const deadline = Date.now() + budgetMs;
  while (Date.now() < deadline) {
    let ops: OperationView[];
    try {
      const read = await client.readResource({ uri: 'realtime://operations' }, { timeout: Math.max(100, deadline - Date.now()) });
      const first = read.contents[0];
      if (first === undefined || !('text' in first)) return undefined;
      ops = (JSON.parse(String(first.text)) as { operations?: OperationView[] }).operations ?? [];
    } catch {
      return undefined; // no such resource here, or no answer in time
    }
    const op = ops.find((o) => o.requestId === callId && (sessionId === undefined || sessionId.startsWith(o.session)));
    if (op === undefined) return undefined;
    if (op.state !== 'running' && op.state !== 'queued') return op;
    await sleep(100);
  }
  return undefined;
}
