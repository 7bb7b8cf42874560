// What the HTTP transports (/mcp, /mcp/messages) share about request bodies and media types: one
// JSON-RPC message per POST (the body arrives as text, within MAX_PAYLOAD_BYTES: plugins/json-rpc-errors.ts),
// parsed by the same code as WebSocket frames; Content-Type and Accept checks.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, RpcError } from '../src/errors.js';
import { parseMessage, type IncomingMessage } from '../src/jsonrpc.js';

/**
 * The one JSON-RPC message of a POST, or undefined after answering the error (415 when not JSON,
 * 400 + -32700 for bad JSON, 400 + -32600 for anything that is not one JSON-RPC message).
 */
export function readMessage(request: FastifyRequest, reply: FastifyReply): IncomingMessage | undefined {
  if (!isJson(request.headers['content-type'])) {
    reply.mcpError(new RpcError(Errors.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Media Type: send Content-Type: application/json'));
    return undefined;
  }
  const parsed = parseMessage(typeof request.body === 'string' ? request.body : '');
  if (!parsed.ok) {
    reply.code(400).type('application/json').send(JSON.stringify(parsed.response));
    return undefined;
  }
  return parsed.message;
}

export const JSON_TYPE = 'application/json';
export const SSE_TYPE = 'text/event-stream';

/** A Content-Type of application/json (any parameters). */
export function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

/** Whether an Accept header admits `type` (wildcards count; an absent header admits nothing, as the spec requires one). */
export function accepts(header: string | undefined, type: string): boolean {
  if (header === undefined) return false;
  const major = type.slice(0, type.indexOf('/'));
  for (const part of header.split(',')) {
    const range = part.split(';')[0]!.trim().toLowerCase();
    if (range === type || range === '*/*' || range === `${major}/*`) return true;
  }
  return false;
}

