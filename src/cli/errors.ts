// Exit codes of the `realtime-mcp` command and the errors that map onto them.

export const Exit = {
  OK: 0,
  /** The tool answered with `isError: true` or a JSON-RPC error. */
  TOOL_ERROR: 1,
  /** Bad command line (or missing local configuration such as JWT_SECRET for `token`). */
  USAGE: 2,
  /** Could not connect, authentication refused, or the connection was lost for good. */
  CONNECTION: 3,
  /** Cancelled with Ctrl-C. */
  CANCELLED: 130,
} as const;

/** A mistake on the command line: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type ConnectionErrorKind =
  /** 401: no token or a token the server refused. */
  | 'auth'
  /** 403: missing scope, or Origin/Host refused. */
  | 'forbidden'
  /** The server no longer knows our session (404 on resume): whatever it sent meanwhile is gone. */
  | 'session-lost'
  /** TCP/TLS/DNS failure or a dropped connection. */
  | 'network'
  /** Any other HTTP answer we cannot use. */
  | 'http'
  /** The server closed the connection on purpose (a WebSocket close frame, e.g. 1001 at shutdown). */
  | 'closed';

/** Connecting or staying connected failed: exit 3. `retryable` errors are retried with backoff first. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  readonly kind: ConnectionErrorKind;
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** Retry-After, when the server sent one (429/503). */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, o: { kind: ConnectionErrorKind; retryable?: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.kind = o.kind;
    this.retryable = o.retryable ?? false;
    this.status = o.status;
    this.retryAfterMs = o.retryAfterMs;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
