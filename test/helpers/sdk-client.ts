// The MCP SDK's own client over its own WebSocketClientTransport. Node 20 has no global WebSocket, so
// we provide `ws`'s client as the global (a subclass can add headers, e.g. Authorization).
import { WebSocket as WsWebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';

let extraHeaders: Record<string, string> = {};

class HeaderWebSocket extends WsWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { headers: extraHeaders });
  }
}

/** Make `globalThis.WebSocket` the `ws` client (with these headers on every upgrade). */
export function installWebSocketGlobal(headers: Record<string, string> = {}): void {
  extraHeaders = headers;
  (globalThis as { WebSocket?: unknown }).WebSocket = HeaderWebSocket;
}

export async function connectSdkClient(wsUrl: string, name = 'test-client'): Promise<Client> {
  installWebSocketGlobal(extraHeaders);
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new WebSocketClientTransport(new URL(wsUrl)));
  return client;
}
