// The one table of error codes realtime-mcp puts on the wire: JSON-RPC codes, WebSocket close codes,
// and the error classes that carry them. Everything else imports from here.

/** JSON-RPC 2.0 codes (spec §5.1) plus the implementation-defined ones we use (-32000..-32099). */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** A tool failed in a way the tool itself reported (e.g. process_batch failAt). */
  TOOL_FAILED: -32000,
  /** A tool ran past its timeout (same code the MCP SDK uses for RequestTimeout). */
  REQUEST_TIMEOUT: -32001,
  /** MCP: resource not found. */
  RESOURCE_NOT_FOUND: -32002,
  /** The principal lacks a scope the tool requires. */
  INSUFFICIENT_SCOPE: -32003,
  /** HTTP transports: the session id is unknown, expired, ended, or another principal's (with HTTP 404). */
  SESSION_NOT_FOUND: -32004,
  /** The server is shutting down and aborted the call. */
  SHUTTING_DOWN: -32010,
  /** The call was aborted because its client went away or it was cancelled before a result could be given. */
  CANCELLED: -32011,
  /** Too many messages on one connection; `data.retryAfterMs` says when to try again. */
  RATE_LIMITED: -32029,
  /** A limit (queue length, in-flight calls, sessions) was reached. */
  LIMIT_REACHED: -32030,
  /** The session's replay log no longer holds this request's result (resume after overflow). */
  RESULT_LOST: -32031,
} as const;
export type RpcCodeValue = (typeof RpcCode)[keyof typeof RpcCode];

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

/**
 * An error that becomes a JSON-RPC error response as is: code, message and optional data.
 * Tools throw it (or its subclass ToolError) when the caller should see a protocol error rather than
 * an `isError` result.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** Thrown by a tool for a failure it wants reported as JSON-RPC error -32000 (with optional data). */
export class ToolError extends RpcError {
  constructor(message: string, data?: unknown, code: number = RpcCode.TOOL_FAILED) {
    super(code, message, data);
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
