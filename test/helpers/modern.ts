// Test helpers for MCP 2026-07-28: the v2 SDK client (pinned, auto, or its default legacy mode) over
// Streamable HTTP, raw stateless POSTs with the per-request envelope and headers, and tools the tests
// share (a progress burst, a slow cancellable call, a question through ctx.request).
import Type from 'typebox';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { defineTool, type ToolDefinition } from '../../src/tools/define.js';

export const MODERN = '2026-07-28';

export type Negotiation = 'pinned' | 'auto' | 'default';

/** A v2 SDK client on /mcp: pinned to 2026-07-28, in `auto` mode, or in its default (legacy) mode. */
export async function connectV2(httpUrl: string, negotiation: Negotiation, options: { elicit?: (message: string) => Record<string, unknown> } = {}): Promise<Client> {
  const client = new Client(
    { name: 'v2-test', version: '1.0.0' },
    {
      capabilities: options.elicit ? { elicitation: { form: {} } } : {},
      ...(negotiation === 'pinned' && { versionNegotiation: { mode: { pin: MODERN } } }),
      ...(negotiation === 'auto' && { versionNegotiation: { mode: 'auto' as const } }),
    },
  );
  if (options.elicit) {
    const elicit = options.elicit;
    client.setRequestHandler('elicitation/create', async (request) => ({ action: 'accept', content: elicit((request.params as { message: string }).message) as never }));
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${httpUrl}/mcp`)));
  return client;
}

export function envelope(extra: Record<string, unknown> = {}, capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1.0.0' },
    ...extra,
  };
}

export interface RawAnswer {
  status: number;
  contentType: string;
  /** The JSON body, or the last `data:` event of an SSE body. */
  body: any;
  /** Every message of an SSE body, in order. */
  events: any[];
  headers: Headers;
}

/** One stateless POST with the standard headers derived from the body (override or drop with `headers`). */
export async function modernPost(httpUrl: string, message: { id?: number | string; method: string; params?: Record<string, unknown> }, headers: Record<string, string | undefined> = {}): Promise<RawAnswer> {
  const params = message.params ?? {};
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
  const all: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': message.method,
    ...(name !== undefined && { 'mcp-name': name }),
    ...headers,
  };
  const res = await fetch(`${httpUrl}/mcp`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>,
    body: JSON.stringify({ jsonrpc: '2.0', ...message, params: { ...params, _meta: { ...envelope(), ...(params._meta as object) } } }),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (contentType.startsWith('text/event-stream')) {
    const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    return { status: res.status, contentType, body: events.at(-1), events, headers: res.headers };
  }
  return { status: res.status, contentType, body: text === '' ? undefined : JSON.parse(text), events: [], headers: res.headers };
}

/** Tools the 2026-07-28 tests share. */
export const modernTestTools: ToolDefinition<any>[] = [
  defineTool({
    name: 'burst',
    description: '`count` progress notifications in one go, then the result',
    inputSchema: Type.Object({ count: Type.Integer({ minimum: 1 }) }),
    handler({ count }, ctx) {
      for (let i = 1; i <= count; i++) ctx.progress({ progress: i, total: count });
      return `burst of ${count}`;
    },
  }),
  defineTool({
    name: 'ask_name',
    description: 'Asks the user for a name (ctx.request: a server→client request on 2025-11-25, input-required on 2026-07-28)',
    inputSchema: Type.Object({ greeting: Type.Optional(Type.String()) }),
    async handler({ greeting = 'Hello' }, ctx) {
      ctx.log('info', 'asking for a name');
      const answer = (await ctx.request('elicitation/create', {
        message: 'What is your name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      })) as { action: string; content?: { name?: string } };
      return `${greeting}, ${answer.content?.name ?? 'nobody'}`;
    },
  }),
];

export function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
}
