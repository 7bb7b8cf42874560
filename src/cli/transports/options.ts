// What every client transport of the CLI takes, and the status events it reports while it reconnects.
import { DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.js';
import { silentLogger, type Logger } from '../log.js';

export type ConnectionStatus =
  | { type: 'dropped'; reason: string }
  | { type: 'reconnecting'; attempt: number; delayMs: number; reason: string }
  | { type: 'resumed'; attempts: number };

export interface ClientTransportOptions {
  /** Bearer token (sent as `Authorization: Bearer …`, never in a URL, never logged). */
  token?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Attempts for the very first connection: 1 fails fast (the CLI), Infinity waits for the server (the bridge). */
  connectAttempts?: number;
  /** Reconnect backoff after a drop. */
  reconnect?: Partial<BackoffOptions>;
  /**
   * WebSocket: ping interval; a connection that does not answer within it is dropped and resumed.
   * HTTP streams: once the server is seen sending keepalive comments, a stream silent for 3 of its
   * keepalive intervals and at least 3 heartbeats (45 s by default) is treated as dead and resumed.
   * 0 = off.
   */
  heartbeatMs?: number;
  log?: Logger;
  onstatus?: (status: ConnectionStatus) => void;
}

export interface ResolvedOptions {
  token: string | undefined;
  headers: Record<string, string>;
  connectAttempts: number;
  backoff: BackoffOptions;
  heartbeatMs: number;
  log: Logger;
  onstatus: (status: ConnectionStatus) => void;
}

export function resolveOptions(o: ClientTransportOptions): ResolvedOptions {
  return {
    token: o.token || undefined,
    headers: { ...o.headers },
    connectAttempts: o.connectAttempts ?? 1,
    backoff: { ...DEFAULT_BACKOFF, ...o.reconnect },
    heartbeatMs: o.heartbeatMs ?? 15_000,
    log: o.log ?? silentLogger,
    onstatus: o.onstatus ?? (() => {}),
  };
}

/** Headers of every request: the caller's, then the token. */
export function authHeaders(o: ResolvedOptions): Record<string, string> {
  return o.token === undefined ? { ...o.headers } : { ...o.headers, Authorization: `Bearer ${o.token}` };
}

/** A JSON-RPC error response we make up for a request whose answer can no longer come. */
export function localError(id: string | number, message: string): { jsonrpc: '2.0'; id: string | number; error: { code: number; message: string } } {
  return { jsonrpc: '2.0', id, error: { code: -32000, message } };
}

/** Deadline for response headers on HTTP requests: 3 heartbeats, at least 10 s (0 = none). */
export function requestTimeoutMs(o: ResolvedOptions): number {
  return o.heartbeatMs <= 0 ? 0 : Math.max(10_000, 3 * o.heartbeatMs);
}
