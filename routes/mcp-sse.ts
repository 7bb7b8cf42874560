// Legacy HTTP+SSE (MCP 2024-11-05), what `SSEClientTransport` speaks:
//   GET  /mcp/sse                      opens the session's event stream; first event `endpoint`
//   POST /mcp/messages?sessionId=<id>  one JSON-RPC message → 202; the answer comes down the stream
// A GET with `Last-Event-ID` (EventSource sends it when it reconnects) resumes the session the id belongs
// to — if the caller owns it — replaying what the stream missed; any other id just opens a new session.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Errors, RpcError } from '../src/errors.js';
import { parseEventId, SESSION_STREAM } from '../src/outbox/event-log.js';
import { LegacySseTransport } from '../src/transports/http/legacy-sse-transport.js';
import type { Session } from '../src/sessions/session.js';
import { readMessage } from './json-rpc-body.js';
import { takeOver } from './take-over.js';

const mcpSseRoutes: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;

  const transportOptions = { idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS, keepalive: app.mcpSseKeepalive };

  /** The legacy transport of a session (a session served here from another node's record gets one now). */
  function legacyTransport(session: Session | undefined): LegacySseTransport | undefined {
    if (session === undefined || session.closed || session.transportKind !== 'sse') return undefined;
    const binding = session.binding instanceof LegacySseTransport ? session.binding : new LegacySseTransport(session, core, transportOptions);
    return binding.closed ? undefined : binding;
  }

  /** The caller's legacy session named by a Last-Event-ID (its stream comes here), with the number to replay after. */
  async function resumable(request: FastifyRequest): Promise<{ transport: LegacySseTransport; seq: number } | undefined> {
    const lastEventId = request.headers['last-event-id'];
    const id = typeof lastEventId === 'string' ? parseEventId(lastEventId) : undefined;
    if (id === undefined || id.stream !== SESSION_STREAM) return undefined;
    const transport = legacyTransport(await core.ownSession(id.sessionId, request.principal));
    return transport !== undefined && transport.session.outbox.acceptsPosition(SESSION_STREAM, id.seq) ? { transport, seq: id.seq } : undefined;
  }

  app.get('/mcp/sse', { exposeHeadRoute: false, config: { opensStream: true } }, async (request, reply) => {
    const endpointPath = request.url.split('?')[0]!.replace(/\/sse\/?$/, '/messages');
    const resume = await resumable(request);
    if (resume !== undefined) {
      const { transport, seq } = resume;
      core.telemetry.resumes.ok++;
      transport.attachStream(takeOver(reply), `${endpointPath}?sessionId=${transport.session.id}`, {}, seq);
      request.log.debug({ session: transport.session.id }, 'sse session resumed');
      return;
    }
    core.admitSession();
    const session = core.createSession('sse', request.principal);
    const transport = new LegacySseTransport(session, core, transportOptions);
    transport.attachStream(takeOver(reply), `${endpointPath}?sessionId=${session.id}`, {});
    request.log.debug({ session: session.id }, 'sse session opened');
  });

  app.post('/mcp/messages', async (request, reply) => {
    const sessionId = (request.query as { sessionId?: unknown }).sessionId;
    const transport = legacyTransport(typeof sessionId === 'string' ? await core.findSession(sessionId, request.principal) : undefined);
    if (transport === undefined) {
      return reply.mcpError(new RpcError(Errors.SESSION_NOT_FOUND, 'Session not found: open a new stream with GET /mcp/sse'));
    }
    const message = readMessage(request, reply);
    if (message === undefined) return reply;
    reply.code(202).send();
    core.touch(transport.session);
    transport.receive(message);
    return reply;
  });
};

export default fp(mcpSseRoutes, { fastify: '5.x', name: 'realtime-mcp-route-sse', encapsulate: true, dependencies: ['realtime-mcp-sse', 'realtime-mcp-json-rpc-errors'] });
