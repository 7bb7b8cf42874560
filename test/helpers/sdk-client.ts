// The MCP SDK's own client over its own transports: WebSocketClientTransport (ws://…/mcp/ws),
// SSEClientTransport (http://…/mcp/sse) and StreamableHTTPClientTransport (http://…/mcp), picked from
// the URL. Node 20 has no global WebSocket, so we provide `ws`'s client as the global (a subclass can
// add headers, e.g. Authorization); the HTTP transports get the same headers on every request.
import { WebSocket as WsWebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

let extraHeaders: Record<string, string> = {};

class HeaderWebSocket extends WsWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { headers: extraHeaders });
  }
}

/** Make `globalThis.WebSocket` the `ws` client (with these headers on every upgrade and HTTP request). */
export function installWebSocketGlobal(headers: Record<string, string> = {}): void {
  extraHeaders = headers;
  (globalThis as { WebSocket?: unknown }).WebSocket = HeaderWebSocket;
}

export type TransportName = 'ws' | 'sse' | 'streamable';

/** Which transport a URL speaks: ws(s):// → WebSocket, …/sse → legacy SSE, anything else → Streamable HTTP. */
export function transportOf(url: string): TransportName {
  if (/^wss?:/.test(url)) return 'ws';
  return /\/sse\/?$/.test(new URL(url).pathname) ? 'sse' : 'streamable';
}

/** The SDK client transport for a URL (see transportOf). */
export function sdkTransport(url: string): Transport {
  const u = new URL(url);
  switch (transportOf(url)) {
    case 'ws':
      installWebSocketGlobal(extraHeaders);
      return new WebSocketClientTransport(u);
    case 'sse':
      // requestInit's headers go on the GET stream (the SDK's EventSource fetch) and on every POST.
      return new SSEClientTransport(u, { requestInit: { headers: extraHeaders } });
    case 'streamable':
      return new StreamableHTTPClientTransport(u, { requestInit: { headers: extraHeaders } });
  }
}

export async function connectSdkClient(url: string, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(sdkTransport(url));
  return client;
}
