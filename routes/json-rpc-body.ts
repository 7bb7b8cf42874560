// What the HTTP transports (/mcp, /mcp/messages) share about request bodies: one JSON-RPC message per
// POST (the body arrives as text, within MAX_PAYLOAD_BYTES: plugins/json-rpc-errors.ts), parsed by the
// same code as WebSocket frames.
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

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

