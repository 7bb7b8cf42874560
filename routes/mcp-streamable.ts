// MCP Streamable HTTP (2025-11-25) at /mcp:
//   POST    one JSON-RPC message. `initialize` without Mcp-Session-Id creates a session (its id comes back
//           in Mcp-Session-Id); a request is answered with JSON or an SSE stream (see the transport);
//           a notification or response → 202.
//   GET     the session's standalone SSE stream; with Last-Event-ID, the resumption of the stream that
//           id belongs to.
//   DELETE  ends the session; later requests with its id → 404.
// Checks, in order: Accept (406), MCP-Protocol-Version (400), body (415/413/400), session (400/404).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { Session } from '../src/sessions/session.js';
import { StreamableHttpTransport } from '../src/transports/streamable-http-transport.js';
import { RpcCode } from '../src/errors.js';
import { isRequest } from '../src/jsonrpc.js';
import { readMessage, sendRpcError, useJsonRpcBodies } from './json-rpc-body.js';
import { takeOver } from './take-over.js';

const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream';

const mcpStreamableRoutes: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;
  const transports = new WeakMap<Session, StreamableHttpTransport>();
  useJsonRpcBodies(app);

  /** 406 / 400 for what every method checks first; true when the request may go on. */
  function headersOk(request: FastifyRequest, reply: FastifyReply, needs: string[]): boolean {
    const accept = request.headers.accept;
    if (!needs.every((type) => accepts(accept, type))) {
      sendRpcError(reply, 406, RpcCode.INVALID_REQUEST, `Not Acceptable: the client must accept ${needs.join(' and ')}`);
      return false;
    }
    const version = request.headers['mcp-protocol-version'];
    if (version !== undefined && (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) {
      sendRpcError(reply, 400, RpcCode.INVALID_REQUEST, `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version)} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
      return false;
    }
    return true;
  }

  /** The caller's session named by Mcp-Session-Id, or undefined after answering 400/404. */
  function existing(request: FastifyRequest, reply: FastifyReply): { session: Session; transport: StreamableHttpTransport } | undefined {
    const id = request.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      sendRpcError(reply, 400, RpcCode.INVALID_REQUEST, 'Bad Request: Mcp-Session-Id header is required (POST initialize first)');
      return undefined;
    }
    const session = core.sessions.getOwned(id, request.principal);
    const transport = session === undefined ? undefined : transports.get(session);
    if (transport === undefined || transport.isClosed) {
      sendRpcError(reply, 404, RpcCode.SESSION_NOT_FOUND, 'Session not found: it ended or expired; initialize a new one');
      return undefined;
    }
    return { session: session!, transport };
  }

  function createSession(request: FastifyRequest): { session: Session; transport: StreamableHttpTransport } {
    const session = core.sessions.create('streamable', request.principal);
    const transport = new StreamableHttpTransport({
      sessionId: session.id,
      bufferEvents: config.EVENT_BUFFER_EVENTS,
      bufferBytes: config.EVENT_BUFFER_BYTES,
      idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
      keepalive: app.mcpSseKeepalive,
    });
    transport.protocolVersion = () => session.protocolVersion;
    transports.set(session, transport);
    core.connect(session, transport);
    request.log.debug({ session: session.id }, 'streamable session opened');
    return { session, transport };
  }

  app.post('/mcp', (request, reply) => {
    if (!headersOk(request, reply, [JSON_TYPE, SSE_TYPE])) return reply;
    const message = readMessage(request, reply);
    if (message === undefined) return reply;
    const isInitialize = isRequest(message) && message.method === 'initialize';
    let target: { session: Session; transport: StreamableHttpTransport } | undefined;
    let created = false;
    if (request.headers['mcp-session-id'] === undefined && isInitialize) {
      if (core.sessions.full) return reply.code(503).header('Retry-After', '5').send({ error: 'Too many sessions on this server; try again later' });
      target = createSession(request);
      created = true;
    } else {
      target = existing(request, reply);
      if (target === undefined) return reply;
    }
    const { session, transport } = target;
    const extra = { requestInfo: { headers: request.headers } };
    if (isRequest(message)) {
      transport.receiveRequest(message as never, takeOver(reply), extra, message.method === 'tools/call');
      // A failed initialize leaves nothing worth keeping (its error answer has been written).
      if (created && session.protocolVersion === undefined) void transport.close();
      return;
    }
    reply.code(202).send();
    transport.receive(message as never, extra);
    return reply;
  });

  app.get('/mcp', { exposeHeadRoute: false }, (request, reply) => {
    if (!headersOk(request, reply, [SSE_TYPE])) return reply;
    const target = existing(request, reply);
    if (target === undefined) return reply;
    const lastEventId = request.headers['last-event-id'];
    target.transport.openStream(takeOver(reply), typeof lastEventId === 'string' ? lastEventId : undefined);
  });

  app.delete('/mcp', (request, reply) => {
    const target = existing(request, reply);
    if (target === undefined) return reply;
    void target.transport.close();
    request.log.debug({ session: target.session.id }, 'streamable session deleted by the client');
    return reply.code(200).send();
  });

  // Answered before any body is read (whatever its type or size).
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
    await sendRpcError(reply, 405, RpcCode.INVALID_REQUEST, 'Method Not Allowed: use POST, GET or DELETE', { allow: 'GET, POST, DELETE' });
  };
  app.route({ method: ['PUT', 'PATCH', 'HEAD'], url: '/mcp', onRequest: notAllowed, handler: notAllowed });
};

/** Whether an Accept header admits `type` (wildcards count; an absent header admits nothing, as the spec requires one). */
function accepts(header: string | undefined, type: string): boolean {
  if (header === undefined) return false;
  const major = type.slice(0, type.indexOf('/'));
  for (const part of header.split(',')) {
    const range = part.split(';')[0]!.trim().toLowerCase();
    if (range === type || range === '*/*' || range === `${major}/*`) return true;
  }
  return false;
}

export default mcpStreamableRoutes;
