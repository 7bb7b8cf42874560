// What the HTTP transports (/mcp, /mcp/messages) share about request bodies: one JSON-RPC message per
// POST, read as text within MAX_PAYLOAD_BYTES and parsed by the same code as WebSocket frames; and the
// HTTP errors, each with a JSON-RPC error body (413 too large, 415 not JSON, 400 bad JSON / not JSON-RPC).
// Call `useJsonRpcBodies(app)` inside a route plugin: it only affects that plugin's routes.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RpcCode } from '../src/errors.js';
import { errorResponse, parseMessage, type IncomingMessage } from '../src/jsonrpc.js';

export function useJsonRpcBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: app.mcpConfig.MAX_PAYLOAD_BYTES }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendRpcError(reply, 413, RpcCode.INVALID_REQUEST, `Payload too large: the limit is ${app.mcpConfig.MAX_PAYLOAD_BYTES} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendRpcError(reply, 415, RpcCode.INVALID_REQUEST, 'Unsupported Media Type: send Content-Type: application/json');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendRpcError(reply, 400, RpcCode.INVALID_REQUEST, 'Bad Request: Content-Length does not match the body');
      default:
        return reply.send(err);
    }
  });
}

/** An HTTP error whose body is a JSON-RPC error response (id null). */
export function sendRpcError(reply: FastifyReply, status: number, code: number, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).type('application/json').send(JSON.stringify(errorResponse(null, code, message)));
}

/**
 * The one JSON-RPC message of a POST, or undefined after answering the error (415 when not JSON,
 * 400 + -32700 for bad JSON, 400 + -32600 for anything that is not one JSON-RPC message).
 */
export function readMessage(request: FastifyRequest, reply: FastifyReply): IncomingMessage | undefined {
  if (!isJson(request.headers['content-type'])) {
    sendRpcError(reply, 415, RpcCode.INVALID_REQUEST, 'Unsupported Media Type: send Content-Type: application/json');
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
