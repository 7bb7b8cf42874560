// `realtime-mcp watch <resource-uri>`: subscribe to a resource and print it each time the server says
// it changed (`notifications/resources/updated` → `resources/read`). Runs until Ctrl-C (or --count).
import { ResourceUpdatedNotificationSchema, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, parse } from '../args.js';
import { Exit, UsageError, errorMessage } from '../errors.js';
import type { CliIO } from '../cli-env.js';
import { connect, describeStatus, reportFailure, resolveTarget } from '../connection.js';
import type { ConnectionStatus } from '../transports/options.js';

export const WATCH_HELP = `Usage: realtime-mcp watch RESOURCE_URI [options]

Subscribe to a resource and print its contents now and after every update the server announces
(e.g. realtime://operations: the calls in flight; realtime://server/stats: sessions and calls).
Stops on Ctrl-C (exit 0) or after --count updates. A dropped connection is resumed.

Options:
      --json             one JSON object per line: {"type":"resource","uri","at","contents":[…]}
      --count N          stop after N updates (the first read counts as one)
  -h, --help             this help
${CONNECTION_HELP}

Example:
  realtime-mcp watch realtime://operations --url http://127.0.0.1:8080/mcp

Exit codes: 0 stopped, 1 the server refused the subscription or read, 2 usage,
3 connection or authentication failure.`;

export async function watchCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, json: { type: 'boolean' }, count: { type: 'string' } });
  if (values.help) {
    io.stdout.write(`${WATCH_HELP}\n`);
    return Exit.OK;
  }
  const [uri, ...extra] = positionals;
  if (uri === undefined) throw new UsageError('watch needs a resource URI, e.g. realtime-mcp watch realtime://operations');
  if (extra.length > 0) throw new UsageError(`watch takes one resource URI (got extra: ${extra.join(' ')})`);
  const count = values.count === undefined ? Infinity : Number(values.count);
  if (count !== Infinity && (!Number.isInteger(count) || count < 1)) throw new UsageError('--count must be a positive integer');
  const target = resolveTarget(values, io);
  const json = values.json === true;

  const onstatus = (s: ConnectionStatus) => {
    if (json) {
      const { type, ...details } = s;
      io.stdout.write(`${JSON.stringify({ type: 'connection', event: type, ...details })}\n`);
    } else io.stderr.write(`realtime-mcp: ${describeStatus(s)}\n`);
  };
  let connected;
  try {
    connected = await connect(target, io, { verbose: values.verbose, onstatus });
  } catch (err) {
    return reportFailure(err, io);
  }
  const { client, transport } = connected;

  let printed = 0;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  // One read at a time; updates that arrive during a read cause exactly one more read after it.
  let reading = false;
  let again = false;
  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const result = await client.readResource({ uri });
        print(uri, result, json, io);
        if (++printed >= count) return finish(Exit.OK);
      } while (again);
    } catch (err) {
      if (transport.fatalError === undefined) io.stderr.write(`realtime-mcp: reading ${uri} failed: ${errorMessage(err)}\n`);
      finish(transport.fatalError ? Exit.CONNECTION : Exit.TOOL_ERROR);
    } finally {
      reading = false;
    }
  };
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    if (n.params.uri === uri) void read();
  });
  const onclose = client.onclose;
  client.onclose = () => {
    onclose?.();
    finish(transport.fatalError ? Exit.CONNECTION : Exit.OK);
  };
  const removeHandler = io.onInterrupt(() => finish(Exit.OK));
  try {
    if (client.getServerCapabilities()?.resources?.subscribe) await client.subscribeResource({ uri });
    else io.stderr.write('realtime-mcp: the server does not offer resource subscriptions: showing the current contents only\n');
    await read();
    if (!client.getServerCapabilities()?.resources?.subscribe) finish(Exit.OK);
    const code = await done;
    if (code === Exit.CONNECTION && transport.fatalError) io.stderr.write(`realtime-mcp: ${transport.fatalError.message}\n`);
    return code;
  } catch (err) {
    return reportFailure(err, io, connected);
  } finally {
    removeHandler();
    client.onclose = onclose;
    if (transport.fatalError === undefined) await client.unsubscribeResource({ uri }, { timeout: 1000 }).catch(() => {});
    await client.close().catch(() => {});
  }
}

function print(uri: string, result: ReadResourceResult, json: boolean, io: CliIO): void {
  const at = new Date().toISOString();
  if (json) {
    io.stdout.write(`${JSON.stringify({ type: 'resource', uri, at, contents: result.contents })}\n`);
    return;
  }
  const lines = [`── ${at} ${uri}`];
  for (const c of result.contents) {
    if ('text' in c) {
      const text = String(c.text);
      lines.push(c.mimeType === 'application/json' ? pretty(text) : text);
    } else lines.push(`[${c.mimeType ?? 'binary'} ${c.uri}]`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
