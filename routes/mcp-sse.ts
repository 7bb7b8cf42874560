// Legacy HTTP+SSE (MCP 2024-11-05), what `SSEClientTransport` speaks:
//   GET  /mcp/sse                      opens the session's event stream; first event `endpoint`
//   POST /mcp/messages?sessionId=<id>  one JSON-RPC message → 202; the answer comes down the stream
// A GET with `Last-Event-ID` (EventSource sends it when it reconnects) resumes the session the id belongs
// to — if the caller owns it — replaying what the stream missed; any other id just opens a new session.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Session } from '../src/sessions/session.js';
import { EventBuffer } from '../src/sessions/event-buffer.js';
import { SseServerTransport } from '../src/transports/sse-transport.js';
import { RpcCode } from '../src/errors.js';
import { readMessage, sendRpcError, useJsonRpcBodies } from './json-rpc-body.js';
import { takeOver } from './take-over.js';

const mcpSseRoutes: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;
  const transports = new WeakMap<Session, SseServerTransport>();
  useJsonRpcBodies(app);

  /** The caller's legacy session named by a Last-Event-ID, with the sequence to replay after. */
  function resumable(request: FastifyRequest): { transport: SseServerTransport; session: Session; seq: number } | undefined {
    const lastEventId = request.headers['last-event-id'];
    if (typeof lastEventId !== 'string') return undefined;
    const sessionId = EventBuffer.prefixOf(lastEventId);
    const session = sessionId === undefined ? undefined : core.sessions.getOwned(sessionId, request.principal);
    const transport = session === undefined ? undefined : transports.get(session);
    const at = transport?.events.parse(lastEventId);
    return transport && at && at.stream === 'g' ? { transport, session: session!, seq: at.seq } : undefined;
  }

  app.get('/mcp/sse', { exposeHeadRoute: false }, (request, reply) => {
    const endpointPath = request.url.split('?')[0]!.replace(/\/sse\/?$/, '/messages');
    const resume = resumable(request);
    if (resume !== undefined) {
      resume.transport.attachStream(takeOver(reply), `${endpointPath}?sessionId=${resume.session.id}`, {}, resume.seq);
      request.log.debug({ session: resume.session.id }, 'sse session resumed');
      return;
    }
    if (core.sessions.full) {
      return reply.code(503).header('Retry-After', '5').send({ error: 'Too many sessions on this server; try again later' });
    }
    const session = core.sessions.create('sse', request.principal);
    const transport = new SseServerTransport({
      sessionId: session.id,
      bufferEvents: config.EVENT_BUFFER_EVENTS,
      bufferBytes: config.EVENT_BUFFER_BYTES,
      idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
      keepalive: app.mcpSseKeepalive,
    });
    transports.set(session, transport);
    core.connect(session, transport);
    transport.attachStream(takeOver(reply), `${endpointPath}?sessionId=${session.id}`, {});
    request.log.debug({ session: session.id }, 'sse session opened');
  });

  app.post('/mcp/messages', (request, reply) => {
    const sessionId = (request.query as { sessionId?: unknown }).sessionId;
    const session = typeof sessionId === 'string' ? core.sessions.getOwned(sessionId, request.principal) : undefined;
    const transport = session === undefined ? undefined : transports.get(session);
    if (transport === undefined) {
      return sendRpcError(reply, 404, RpcCode.SESSION_NOT_FOUND, 'Session not found: open a new stream with GET /mcp/sse');
    }
    const message = readMessage(request, reply);
    if (message === undefined) return reply;
    reply.code(202).send();
    transport.receive(message as never, { requestInfo: { headers: request.headers } });
    return reply;
  });
};

export default mcpSseRoutes;
