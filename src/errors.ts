// The one table of errors realtime-mcp puts on the wire. Each named error carries its JSON-RPC code,
// the HTTP status it gets when it ends an HTTP exchange before (or instead of) a JSON-RPC answer, and,
// where it ends a WebSocket, the close code. Everything else imports from here; `render.ts` turns an
// error into what each transport sends.

export interface ErrorKind {
  readonly name: string;
  /** JSON-RPC error code (spec §5.1, MCP, or ours in -32000..-32099). */
  readonly rpc: number;
  /** HTTP status when the error is the whole answer to an HTTP request. */
  readonly http: number;
  /** WebSocket close code when the error ends the connection. */
  readonly close?: number;
}

function table<T extends Record<string, Omit<ErrorKind, 'name'>>>(kinds: T): { readonly [K in keyof T]: ErrorKind } {
  const out: Record<string, ErrorKind> = {};
  for (const [name, kind] of Object.entries(kinds)) out[name] = Object.freeze({ name, ...kind });
  return Object.freeze(out) as { readonly [K in keyof T]: ErrorKind };
}

/** WebSocket close codes (RFC 6455 §7.4.1) as we use them. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;

export const Errors = table({
  // JSON-RPC 2.0
  PARSE_ERROR: { rpc: -32700, http: 400 },
  INVALID_REQUEST: { rpc: -32600, http: 400 },
  METHOD_NOT_FOUND: { rpc: -32601, http: 404 },
  INVALID_PARAMS: { rpc: -32602, http: 400 },
  INTERNAL_ERROR: { rpc: -32603, http: 500, close: CloseCode.INTERNAL_ERROR },
  // Transport-level refusals (JSON-RPC body with id null)
  PAYLOAD_TOO_LARGE: { rpc: -32600, http: 413, close: CloseCode.MESSAGE_TOO_BIG },
  UNSUPPORTED_MEDIA_TYPE: { rpc: -32600, http: 415 },
  NOT_ACCEPTABLE: { rpc: -32600, http: 406 },
  METHOD_NOT_ALLOWED: { rpc: -32600, http: 405 },
  BINARY_FRAME: { rpc: -32600, http: 400, close: CloseCode.UNSUPPORTED_DATA },
  FORBIDDEN_ORIGIN: { rpc: -32600, http: 403 },
  // MCP 2026-07-28 (the spec's -32020..-32099 range; the stateless wire only)
  /** A standard header (MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-*) is missing, malformed or differs from the body. */
  HEADER_MISMATCH: { rpc: -32020, http: 400 },
  /** The request needs a client capability its `_meta` does not declare; `data.requiredCapabilities` names it. */
  MISSING_CLIENT_CAPABILITY: { rpc: -32021, http: 400 },
  /** The request's protocol version is not one this server speaks; `data: { supported, requested }`. */
  UNSUPPORTED_PROTOCOL_VERSION: { rpc: -32022, http: 400 },
  // Ours (-32000..-32099)
  /** A tool failed in a way the tool itself reported (e.g. process_batch failAt). */
  TOOL_FAILED: { rpc: -32000, http: 500 },
  /** A tool ran past its timeout (the code the MCP SDK uses for RequestTimeout). */
  REQUEST_TIMEOUT: { rpc: -32001, http: 504 },
  /** MCP: resource not found. */
  RESOURCE_NOT_FOUND: { rpc: -32002, http: 404 },
  /** The principal lacks a scope the tool requires. */
  INSUFFICIENT_SCOPE: { rpc: -32003, http: 403 },
  /** The session id is unknown, expired, ended, or another principal's. */
  SESSION_NOT_FOUND: { rpc: -32004, http: 404, close: CloseCode.POLICY_VIOLATION },
  /** The server is shutting down: new calls are refused, calls past the grace period aborted. */
  SHUTTING_DOWN: { rpc: -32010, http: 503, close: CloseCode.GOING_AWAY },
  /** The call was aborted because its client went away, or it was cancelled before a result could be given. */
  CANCELLED: { rpc: -32011, http: 499 },
  /** Tokens cannot be checked right now (the JWKS is unreachable). */
  AUTH_UNAVAILABLE: { rpc: -32012, http: 503 },
  /** Too many messages or requests; `data.retryAfterMs` says when to try again. */
  RATE_LIMITED: { rpc: -32029, http: 429, close: CloseCode.POLICY_VIOLATION },
  /** A limit was reached: calls queued in a session, open connections of a principal. */
  LIMIT_REACHED: { rpc: -32030, http: 429 },
  /** The server holds as many sessions as it may. */
  TOO_MANY_SESSIONS: { rpc: -32030, http: 503 },
  /** The session's replay log no longer holds this request's result (resume after overflow). */
  RESULT_LOST: { rpc: -32031, http: 410 },
  /** The server node that ran this call stopped (scale-out); `data.lastProgress` says how far it got. */
  NODE_LOST: { rpc: -32032, http: 503 },
  /** A store the request needs (Redis, with STORE=redis) is unreachable; retry shortly. */
  STORE_UNAVAILABLE: { rpc: -32013, http: 503 },
  /** The node holding the session's stream is alive but did not hand it over in time (scale-out); retry shortly. */
  SESSION_BUSY: { rpc: -32014, http: 503 },
});
export type ErrorName = keyof typeof Errors;

/** The JSON-RPC codes by name (the public, older spelling of the table). */
export const RpcCode = Object.freeze(Object.fromEntries(Object.entries(Errors).map(([name, kind]) => [name, kind.rpc]))) as {
  readonly [K in ErrorName]: number;
};

/**
 * An error that becomes a JSON-RPC error response as is: code, message and optional data.
 * Tools throw it (or its subclass ToolError) when the caller should see a protocol error rather than
 * an `isError` result. Errors of the table carry their kind, and with it their HTTP status and close code.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  readonly kind: ErrorKind | undefined;
  constructor(code: number | ErrorKind, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.kind = typeof code === 'number' ? undefined : code;
    this.code = typeof code === 'number' ? code : code.rpc;
    this.data = data;
  }

  /** HTTP status for this error when it is the whole answer (500 for codes outside the table). */
  get httpStatus(): number {
    return this.kind?.http ?? 500;
  }

  /**
   * True for an error that ends a call as planned rather than a failure (a 2026-07-28 round that ends
   * with an input-required result): the call's outcome is 'ok'.
   */
  get endsAsPlanned(): boolean {
    return false;
  }

  /** Milliseconds the client should wait before retrying, when the error says. */
  get retryAfterMs(): number | undefined {
    const ms = (this.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    return typeof ms === 'number' && ms >= 0 ? ms : undefined;
  }
}

/** Thrown by a tool for a failure it wants reported as JSON-RPC error -32000 (with optional data). */
export class ToolError extends RpcError {
  constructor(message: string, data?: unknown, code: number = Errors.TOOL_FAILED.rpc) {
    super(code === Errors.TOOL_FAILED.rpc ? Errors.TOOL_FAILED : code, message, data);
    this.name = 'ToolError';
  }
}

/** A configuration value is missing or wrong; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** An error of the table with `data.retryAfterMs` (and so a Retry-After header on HTTP). */
export function retryLater(kind: ErrorKind, message: string, retryAfterMs: number, data: Record<string, unknown> = {}): RpcError {
  return new RpcError(kind, message, { ...data, retryAfterMs });
}
