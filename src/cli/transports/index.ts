// Which transport a URL speaks, and the resumable client transport for it.
import { UsageError } from '../errors.js';
import type { ConnectionError } from '../errors.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ResumableWebSocketTransport } from './websocket.js';
import { ResumableLegacySseTransport } from './legacy-sse.js';
import { ResumableStreamableHttpTransport } from './streamable-http.js';
import type { ClientTransportOptions } from './options.js';

export type TransportKind = 'ws' | 'sse' | 'streamable';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['ws', 'sse', 'streamable'];

export type ResumableTransport = Transport & { fatalError: ConnectionError | undefined; readonly serverSessionId: string | undefined };

/** ws(s):// → WebSocket; a path ending in /sse → legacy HTTP+SSE; anything else → Streamable HTTP. */
export function transportKindOf(url: URL): TransportKind {
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return 'ws';
  return /\/sse\/?$/.test(url.pathname) ? 'sse' : 'streamable';
}

export function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(text)} (e.g. ws://127.0.0.1:8080/mcp/ws or http://127.0.0.1:8080/mcp)`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    throw new UsageError(`unsupported URL scheme ${url.protocol} (use ws://, wss://, http:// or https://)`);
  }
  const params = [...url.searchParams.keys()].map((k) => k.toLowerCase());
  if (url.username || url.password || params.includes('token') || params.includes('access_token')) {
    throw new UsageError('put no credentials in the URL: use REALTIME_MCP_TOKEN or --token');
  }
  return url;
}

export function createTransport(url: URL, kind: TransportKind, options: ClientTransportOptions): ResumableTransport {
  if (kind === 'ws' && !(url.protocol === 'ws:' || url.protocol === 'wss:')) {
    throw new UsageError(`--transport ws needs a ws:// or wss:// URL (got ${url.protocol}//)`);
  }
  if (kind !== 'ws' && !(url.protocol === 'http:' || url.protocol === 'https:')) {
    throw new UsageError(`--transport ${kind} needs an http:// or https:// URL (got ${url.protocol}//)`);
  }
  switch (kind) {
    case 'ws':
      return new ResumableWebSocketTransport(url, options);
    case 'sse':
      return new ResumableLegacySseTransport(url, options);
    case 'streamable':
      return new ResumableStreamableHttpTransport(url, options);
  }
}
