// GET /mcp/ws: MCP over WebSocket (subprotocol `mcp`, one JSON-RPC message per text frame). Everything
// HTTP (Origin/Host, auth, rate limits, session limits) happens in hooks before the upgrade; after it,
// the socket serves one session (src/transports/websocket/).
// Resume: an upgrade carrying `Mcp-Session-Id` (and `Last-Event-ID`: the number of frames the client
// received, or a full event id) takes that session over instead of starting a new one; an unknown,
// expired or foreign session is refused with 404 before any upgrade.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { Errors, RpcError } from '../src/errors.js';
import { WebSocketConnection } from '../src/transports/websocket/connection.js';
import { WebSocketSessionTransport } from '../src/transports/websocket/session-transport.js';
import { parseLastEventId } from '../src/transports/websocket/resume.js';

/** What the preHandler decided for an upgrade: a new session's id, or the session it resumes. */
type Admission = { sessionId: string; resume?: { transport: WebSocketSessionTransport; lastSeq: number } };
const kAdmission = Symbol('realtime-mcp.admission');
type AdmittedRequest = FastifyRequest & { [kAdmission]?: Admission };

const mcpWebSocketRoute: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;

  const sessionOptions = (request: FastifyRequest) => ({
    messageLimit: app.mcpLimits.newMessageLimiter(),
    resumeWindowMs: config.EVENT_BUFFER_EVENTS > 0 ? config.RESUME_WINDOW_MS : 0,
    findResumable: (sessionId: string) => resumable(sessionId, request),
    onResume: (outcome: 'ok' | 'expired') => core.telemetry.resumes[outcome]++,
    modern: core.modern,
  });

  /**
   * The WebSocket transport of a live session `request`'s principal may resume, else undefined. The
   * session becomes this node's (with several nodes: claimed from a lost node, or handed over).
   */
  async function resumable(sessionId: string, request: FastifyRequest): Promise<WebSocketSessionTransport | undefined> {
    if (config.RESUME_WINDOW_MS === 0) return undefined;
    const session = await core.ownSession(sessionId, request.principal);
    if (session === undefined || session.transportKind !== 'ws' || session.closed) return undefined;
    const binding = session.binding;
    if (binding instanceof WebSocketSessionTransport) return binding;
    return new WebSocketSessionTransport(session, core, sessionOptions(request)); // claimed from another node
  }

  function admitted(request: FastifyRequest, admission: Admission): void {
    (request as AdmittedRequest)[kAdmission] = admission;
    app.mcpSessionIdOnUpgrade(request.raw, admission.sessionId);
  }

  async function admit(request: FastifyRequest, reply: FastifyReply) {
    const resumeId = request.headers['mcp-session-id'];
    if (typeof resumeId === 'string') {
      const transport = await resumable(resumeId, request);
      if (transport === undefined) {
        core.telemetry.resumes.expired++;
        return reply.mcpError(new RpcError(Errors.SESSION_NOT_FOUND, 'Session not found: it ended, its resume window passed, or it is not yours; connect without Mcp-Session-Id to start a new session'));
      }
      const lastSeq = parseLastEventId(headerValue(request.headers['last-event-id']), transport.session);
      if (lastSeq === undefined) {
        return reply.mcpError(new RpcError(Errors.INVALID_REQUEST, 'Last-Event-ID must be the number of frames received from this session (or one of its event ids)'));
      }
      admitted(request, { sessionId: resumeId, resume: { transport, lastSeq } });
      return;
    }
    core.admitSession(); // 503 + Retry-After when full or the store is unreachable
    admitted(request, { sessionId: core.sessions.newId() });
  }

  app.get('/mcp/ws', { websocket: true, preHandler: admit }, (ws, request) => {
    const { sessionId: id, resume } = (request as AdmittedRequest)[kAdmission]!;
    const connection = new WebSocketConnection(ws, request.raw.socket as Socket);
    app.mcpHeartbeat.watch(ws);
    if (resume !== undefined) {
      core.telemetry.resumes.ok++;
      resume.transport.attach(connection, resume.lastSeq);
      request.log.debug({ session: id, after: resume.lastSeq }, 'websocket session resumed');
      return;
    }
    const session = core.createSession('ws', request.principal, id);
    new WebSocketSessionTransport(session, core, sessionOptions(request), connection);
    request.log.debug({ session: id }, 'websocket session opened');
  });
};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default fp(mcpWebSocketRoute, {
  fastify: '5.x',
  name: 'realtime-mcp-route-ws',
  encapsulate: true,
  dependencies: ['realtime-mcp-websocket', 'realtime-mcp-rate-limit'],
});
