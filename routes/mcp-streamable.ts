// MCP Streamable HTTP (2025-11-25) at /mcp:
//   POST    one JSON-RPC message. `initialize` without Mcp-Session-Id creates a session (its id comes back
//           in Mcp-Session-Id); a request is answered with JSON or an SSE stream (see the transport);
//           a notification or response → 202.
//   GET     the session's standalone SSE stream; with Last-Event-ID, the resumption of the stream that
//           id belongs to.
//   DELETE  ends the session; later requests with its id → 404.
// A POST that claims MCP 2026-07-28 in its _meta is served statelessly instead (mcp-modern.ts).
// Checks, in order: Accept (406), MCP-Protocol-Version (400), body (415/413/400), session (400/404).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { StreamableTransport } from '../src/transports/http/streamable-transport.js';
import { Errors, RpcError } from '../src/errors.js';
import { isRequest } from '../src/jsonrpc.js';
import { JSON_TYPE, SSE_TYPE, accepts, readMessage } from './json-rpc-body.js';
import { takeOver } from './take-over.js';
import { mayBeModern, serveModernPost } from './mcp-modern.js';


const mcpStreamableRoutes: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;

  /** 406 / 400 for what every method checks first; true when the request may go on. */
  function headersOk(request: FastifyRequest, reply: FastifyReply, needs: string[]): boolean {
    const accept = request.headers.accept;
    if (!needs.every((type) => accepts(accept, type))) {
      reply.mcpError(new RpcError(Errors.NOT_ACCEPTABLE, `Not Acceptable: the client must accept ${needs.join(' and ')}`));
      return false;
    }
    const version = request.headers['mcp-protocol-version'];
    if (version !== undefined && (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) {
      reply.mcpError(new RpcError(Errors.INVALID_REQUEST, `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version)} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`));
      return false;
    }
    return true;
  }

  const transportOptions = { idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS, keepalive: app.mcpSseKeepalive };

  /**
   * The caller's session named by Mcp-Session-Id, or undefined after answering 400/404. With several
   * nodes, a session created elsewhere is served here from its record; `own` makes this node its owner
   * (a GET: the session stream comes here).
   */
  async function existing(request: FastifyRequest, reply: FastifyReply, own = false): Promise<StreamableTransport | undefined> {
    const id = request.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      reply.mcpError(new RpcError(Errors.INVALID_REQUEST, 'Bad Request: Mcp-Session-Id header is required (POST initialize first)'));
      return undefined;
    }
    const session = own ? await core.ownSession(id, request.principal) : await core.findSession(id, request.principal);
    const binding = session === undefined || session.transportKind !== 'streamable' || session.closed
      ? undefined
      : session.binding instanceof StreamableTransport ? session.binding : new StreamableTransport(session, core, transportOptions);
    if (binding === undefined || binding.closed) {
      reply.mcpError(new RpcError(Errors.SESSION_NOT_FOUND, 'Session not found: it ended or expired; initialize a new one'));
      return undefined;
    }
    core.touch(binding.session);
    return binding;
  }

  function createSession(request: FastifyRequest): StreamableTransport {
    const session = core.createSession('streamable', request.principal);
    request.log.debug({ session: session.id }, 'streamable session opened');
    return new StreamableTransport(session, core, transportOptions);
  }

  app.post('/mcp', async (request, reply) => {
    // MCP 2026-07-28 is chosen per request (params._meta claims it): served statelessly by mcp-modern.ts.
    if (mayBeModern(request) && serveModernPost(app, request, reply)) return;
    if (!headersOk(request, reply, [JSON_TYPE, SSE_TYPE])) return reply;
    const message = readMessage(request, reply);
    if (message === undefined) return reply;
    const isInitialize = isRequest(message) && message.method === 'initialize';
    let transport: StreamableTransport | undefined;
    let created = false;
    if (request.headers['mcp-session-id'] === undefined && isInitialize) {
      core.admitSession();
      transport = createSession(request);
      created = true;
    } else {
      transport = await existing(request, reply);
      if (transport === undefined) return reply;
    }
    if (isRequest(message)) {
      transport.receiveRequest(message, takeOver(reply), message.method === 'tools/call');
      // A failed initialize leaves nothing worth keeping (its error answer has been written).
      if (created && transport.session.protocolVersion === undefined) void transport.close('initialize failed');
      return;
    }
    reply.code(202).send();
    transport.receive(message);
    return reply;
  });

  app.get('/mcp', { exposeHeadRoute: false, config: { opensStream: true } }, async (request, reply) => {
    if (!headersOk(request, reply, [SSE_TYPE])) return reply;
    const transport = await existing(request, reply, true);
    if (transport === undefined) return reply;
    const lastEventId = request.headers['last-event-id'];
    if (typeof lastEventId === 'string') core.telemetry.resumes.ok++;
    transport.openStream(takeOver(reply), typeof lastEventId === 'string' ? lastEventId : undefined);
  });

  app.delete('/mcp', async (request, reply) => {
    const transport = await existing(request, reply);
    if (transport === undefined) return reply;
    core.deleteSession(transport.session, 'deleted by the client');
    request.log.debug({ session: transport.session.id }, 'streamable session deleted by the client');
    return reply.code(200).send();
  });

  // Answered before any body is read (whatever its type or size).
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
    await reply.mcpError(new RpcError(Errors.METHOD_NOT_ALLOWED, 'Method Not Allowed: use POST, GET or DELETE'), { allow: 'GET, POST, DELETE' });
  };
  app.route({ method: ['PUT', 'PATCH', 'HEAD'], url: '/mcp', onRequest: notAllowed, handler: notAllowed });
};


export default fp(mcpStreamableRoutes, { fastify: '5.x', name: 'realtime-mcp-route-streamable', encapsulate: true, dependencies: ['realtime-mcp-sse', 'realtime-mcp-json-rpc-errors'] });
