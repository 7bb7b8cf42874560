// What the core hands a session's outbox: typed messages. The kind decides the outbox's policy
// (progress may be coalesced under backpressure, logs may be counted instead of sent, results and
// errors are never dropped and wait for the ordering barrier), and `requestId` says which client request
// the message belongs to (a call's progress and logs, the result that answers it), which is how
// Streamable HTTP picks the stream. Transports never look inside `body`: they frame and write it.
import type { ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { ErrorResponse } from '../jsonrpc.js';

export type OutKind = 'progress' | 'log' | 'result' | 'error' | 'request' | 'notification';

export interface OutMessage {
  readonly kind: OutKind;
  /**
   * The client request this message belongs to: the call a progress, log or server→client request is
   * about, or the request a result or error answers. Undefined for session-wide messages.
   */
  readonly requestId: RequestId | undefined;
  /** The JSON-RPC message, exactly as it goes on the wire. */
  readonly body: object;
  /** `body` as JSON text, when whoever built the message serialized it already (the runner does, once, for results). */
  text?: string;
}

export interface ProgressParams {
  progressToken: ProgressToken;
  progress: number;
  total?: number;
  message?: string;
  _meta?: Record<string, unknown>;
}

export function progressMessage(requestId: RequestId, params: ProgressParams): OutMessage {
  return { kind: 'progress', requestId, body: { jsonrpc: '2.0', method: 'notifications/progress', params } };
}

/** `notifications/message`, about a call when `requestId` is given. */
export function logMessage(params: Record<string, unknown>, requestId?: RequestId): OutMessage {
  return { kind: 'log', requestId, body: { jsonrpc: '2.0', method: 'notifications/message', params } };
}

export function resultMessage(id: RequestId, result: unknown): OutMessage {
  return { kind: 'result', requestId: id, body: { jsonrpc: '2.0', id, result } };
}

/** An error response; `id` null answers a message whose id could not be read (parse errors). */
export function errorMessage(response: ErrorResponse): OutMessage {
  return { kind: 'error', requestId: response.id ?? undefined, body: response };
}

/** A server→client request (sampling, elicitation, roots, ping), about a call when `relatedRequestId` is given. */
export function requestMessage(id: RequestId, method: string, params: Record<string, unknown> | undefined, relatedRequestId?: RequestId): OutMessage {
  const body = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
  return { kind: 'request', requestId: relatedRequestId, body };
}

export function notificationMessage(method: string, params?: Record<string, unknown>, requestId?: RequestId): OutMessage {
  const body = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
  return { kind: 'notification', requestId, body };
}

/** Results and errors: they answer a request and are never dropped. */
export function isResponse(message: OutMessage): boolean {
  return message.kind === 'result' || message.kind === 'error';
}
