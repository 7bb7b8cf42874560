// One error, rendered for each transport: a JSON-RPC error response (every transport), an HTTP answer
// (status, headers, JSON-RPC body with id null; Retry-After when the error says when to retry), and a
// WebSocket close frame. 401/403 from authentication are the one exception: RFC 6750 bodies, rendered
// by the auth plugin (plugins/auth.ts).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CloseCode, Errors, RpcError } from '../errors.js';
import { errorResponse, type ErrorResponse } from '../jsonrpc.js';

/** The JSON-RPC error response for `err`; anything that is not an RpcError is an opaque internal error. */
export function toErrorResponse(id: RequestId | null, err: unknown): ErrorResponse {
  if (err instanceof RpcError) return errorResponse(id, err.code, err.message, err.data);
  return errorResponse(id, Errors.INTERNAL_ERROR.rpc, 'Internal error');
}

export interface HttpErrorAnswer {
  status: number;
  headers: Record<string, string>;
  /** A JSON-RPC error response with id null, serialized. */
  body: string;
}

/** The HTTP answer for an error that ends an HTTP exchange. */
export function toHttpError(err: RpcError, extraHeaders: Record<string, string> = {}): HttpErrorAnswer {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  const retryAfterMs = err.retryAfterMs;
  if (retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return { status: err.httpStatus, headers, body: JSON.stringify(toErrorResponse(null, err)) };
}

/** The WebSocket close frame for an error that ends a connection (reasons are capped at 123 bytes). */
export function toCloseFrame(err: RpcError): { code: number; reason: string } {
  const code = err.kind?.close ?? CloseCode.INTERNAL_ERROR;
  return { code, reason: truncateUtf8(err.message, 123) };
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = text.slice(0, maxBytes);
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}
