// JSON-RPC 2.0 framing shared by every transport: parse one incoming text into a message (or the error
// response to send back), classify it, and build responses. Checks are structural and cheap on purpose:
// this runs for every message, and the SDK's zod guards cost more than the rest of a call (see README).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode } from './errors.js';

export interface IncomingRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}
export interface IncomingNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}
export interface IncomingResponse {
  jsonrpc: '2.0';
  id: RequestId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}
export type IncomingMessage = IncomingRequest | IncomingNotification | IncomingResponse;

export interface ErrorResponse {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: { code: number; message: string; data?: unknown };
}

export type ParseOutcome = { ok: true; message: IncomingMessage } | { ok: false; response: ErrorResponse };

export function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown): ErrorResponse {
  const error: ErrorResponse['error'] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

/** A valid JSON-RPC id for MCP: a string, or an integer (MCP forbids null). */
export function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
}

export function isRequest(m: IncomingMessage): m is IncomingRequest {
  return 'method' in m && 'id' in m;
}
export function isNotification(m: IncomingMessage): m is IncomingNotification {
  return 'method' in m && !('id' in m);
}

/** Parse one JSON-RPC message from a text frame or body. Never throws. */
export function parseMessage(text: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, response: errorResponse(null, RpcCode.PARSE_ERROR, `Parse error: ${(err as Error).message}`) };
  }
  return validateMessage(value);
}

/** Structural JSON-RPC 2.0 check of an already parsed value. */
export function validateMessage(value: unknown): ParseOutcome {
  if (value === null || typeof value !== 'object') {
    return invalid(null, 'a JSON-RPC message must be an object');
  }
  if (Array.isArray(value)) {
    return invalid(null, 'batches are not supported: send one JSON-RPC message per frame or request');
  }
  const m = value as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(m, 'id');
  const idForError = hasId && isRequestId(m.id) ? m.id : null;
  if (m.jsonrpc !== '2.0') return invalid(idForError, 'jsonrpc must be exactly "2.0"');
  if (hasId && !isRequestId(m.id)) return invalid(null, 'id must be a string or an integer');

  if (Object.prototype.hasOwnProperty.call(m, 'method')) {
    if (typeof m.method !== 'string' || m.method.length === 0) return invalid(idForError, 'method must be a non-empty string');
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      return invalid(idForError, 'params must be an object');
    }
    return { ok: true, message: m as unknown as IncomingMessage };
  }
  // A response to a request the server sent.
  if (hasId && ('result' in m || 'error' in m)) {
    if ('error' in m) {
      const e = m.error as Record<string, unknown> | null;
      if (!e || typeof e !== 'object' || typeof e.code !== 'number' || typeof e.message !== 'string') {
        return invalid(idForError, 'error must be an object with a numeric code and a string message');
      }
    }
    return { ok: true, message: m as unknown as IncomingMessage };
  }
  return invalid(idForError, 'not a request, notification or response: method (or result/error with id) is missing');
}

function invalid(id: RequestId | null, why: string): ParseOutcome {
  return { ok: false, response: errorResponse(id, RpcCode.INVALID_REQUEST, `Invalid Request: ${why}`) };
}
