// HTTP errors and request bodies of the plugin's routes, in one shape: every error answered here is a
// JSON-RPC error response (id null) with the status of its entry in the error table (src/errors.ts),
// and Retry-After when it says when to retry. (401/403 from authentication are RFC 6750 bodies: auth.ts.)
// Bodies: one JSON-RPC message per POST, read as text within MAX_PAYLOAD_BYTES and parsed by the same
// code as WebSocket frames. A body over the limit gets its 413 and the rest of it is read and dropped
// before the connection closes, so an ordinary client that is still sending reads the 413 instead of
// a reset (EPIPE).
import fp from 'fastify-plugin';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, RpcError } from '../src/errors.js';
import { toHttpError } from '../src/protocol/render-error.js';

/** How long the rest of an oversized body is read and dropped before the connection is closed anyway. */
const DRAIN_OVERSIZE_BODY_MS = 5_000;

/** Answer an HTTP request with an error of the table. */
export function sendHttpError(reply: FastifyReply, err: RpcError, headers: Record<string, string> = {}): FastifyReply {
  const answer = toHttpError(err, headers);
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

declare module 'fastify' {
  interface FastifyReply {
    /** Answer with an error of the table (JSON-RPC body, its HTTP status, Retry-After when it says). */
    mcpError(err: RpcError, headers?: Record<string, string>): FastifyReply;
  }
}

const jsonRpcErrorsPlugin: FastifyPluginAsync = async (app) => {
  const limit = app.mcpConfig.MAX_PAYLOAD_BYTES;
  app.decorateReply('mcpError', function mcpError(this: FastifyReply, err: RpcError, headers?: Record<string, string>) {
    return sendHttpError(this, err, headers);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: limit }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError | RpcError, request, reply) => {
    if (err instanceof RpcError) return sendHttpError(reply, err);
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        drainThenClose(request);
        return sendHttpError(reply, new RpcError(Errors.PAYLOAD_TOO_LARGE, `Payload too large: the limit is ${limit} bytes`), { connection: 'close' });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendHttpError(reply, new RpcError(Errors.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Media Type: send Content-Type: application/json'));
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendHttpError(reply, new RpcError(Errors.INVALID_REQUEST, 'Bad Request: Content-Length does not match the body'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendHttpError(reply, new RpcError(Errors.PARSE_ERROR, 'Parse error: the body is empty'));
      default:
        if (err.validation !== undefined) return sendHttpError(reply, new RpcError(Errors.INVALID_PARAMS, `Invalid body: ${err.message}`));
        if (typeof err.statusCode === 'number' && err.statusCode < 500) return reply.send(err);
        request.log.error({ err }, 'request failed');
        return sendHttpError(reply, new RpcError(Errors.INTERNAL_ERROR, 'Internal error'));
    }
  });
};

/**
 * Keep reading (and dropping) the rest of an oversized body for a while: closing at once would reset a
 * client that is still sending, and it would never see the 413.
 */
function drainThenClose(request: FastifyRequest): void {
  const raw = request.raw;
  if (raw.complete) return;
  const socket = raw.socket;
  const timer = setTimeout(() => socket.destroy(), DRAIN_OVERSIZE_BODY_MS);
  timer.unref();
  raw.on('end', () => clearTimeout(timer));
  raw.on('close', () => clearTimeout(timer));
  raw.resume();
}

export default fp(jsonRpcErrorsPlugin, { fastify: '5.x', name: 'realtime-mcp-json-rpc-errors' });
