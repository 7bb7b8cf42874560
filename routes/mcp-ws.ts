// GET /mcp/ws: MCP over WebSocket. Everything HTTP (auth, rate limits, Origin checks, session limits)
// happens in hooks before the upgrade; after it, the socket is one session's transport.
// Resume: an upgrade carrying `Mcp-Session-Id` (and `Last-Event-ID`, the number of frames the client
// received, or the full event id) takes that session over instead of starting a new one; an unknown,
// expired or foreign session is refused with 404 before any upgrade.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { kSessionId, type UpgradeRequest } from '../plugins/websocket.js';
import { RpcCode } from '../src/errors.js';
import { WebSocketServerTransport, parseLastEventId } from '../src/transports/websocket-transport.js';

const kResume = Symbol('realtime-mcp.resume');
type ResumingRequest = UpgradeRequest & { [kResume]?: { transport: WebSocketServerTransport; lastSeq: number } };

const mcpWebSocketRoute: FastifyPluginAsync = async (app) => {
  const core = app.mcp;
  const config = app.mcpConfig;

  /** The WebSocket transport of a live session `principal` may use, else undefined. */
  function resumable(sessionId: string, request: FastifyRequest): WebSocketServerTransport | undefined {
    const transport = core.sessions.getOwned(sessionId, request.principal)?.currentTransport;
    return transport instanceof WebSocketServerTransport && transport.events !== undefined ? transport : undefined;
  }

  async function admit(request: FastifyRequest, reply: FastifyReply) {
    const raw = request.raw as ResumingRequest;
    const resumeId = request.headers['mcp-session-id'];
    if (typeof resumeId === 'string') {
      const transport = resumable(resumeId, request);
      if (transport === undefined) {
        return reply.code(404).send({ jsonrpc: '2.0', id: null, error: { code: RpcCode.SESSION_NOT_FOUND, message: 'Session not found: it ended, its resume window passed, or it is not yours; connect without Mcp-Session-Id to start a new session' } });
      }
      const lastSeq = parseLastEventId(headerValue(request.headers['last-event-id']), transport.events);
      if (lastSeq === undefined) {
        return reply.code(400).send({ jsonrpc: '2.0', id: null, error: { code: RpcCode.INVALID_REQUEST, message: 'Last-Event-ID must be the number of frames received (or an event id of this session)' } });
      }
      raw[kSessionId] = resumeId;
      raw[kResume] = { transport, lastSeq };
      return;
    }
    if (core.sessions.full) {
      return reply.code(503).header('Retry-After', '5').send({ error: 'Too many sessions on this server; try again later' });
    }
    raw[kSessionId] = core.sessions.newId();
  }

  app.get('/mcp/ws', { websocket: true, preHandler: admit }, (socket, request) => {
    const raw = request.raw as ResumingRequest;
    app.mcpHeartbeat.watch(socket);
    const resume = raw[kResume];
    if (resume !== undefined) {
      resume.transport.attachSocket(socket, resume.lastSeq);
      request.log.debug({ session: raw[kSessionId], after: resume.lastSeq }, 'websocket session resumed');
      return;
    }
    const id = raw[kSessionId]!;
    const session = core.sessions.create('ws', request.principal, id);
    const transport = new WebSocketServerTransport(socket, {
      sessionId: id,
      extra: { requestInfo: { headers: withoutCredentials(request.headers) } },
      messageLimit: app.mcpLimits.newMessageLimiter(),
      resumeWindowMs: config.RESUME_WINDOW_MS,
      bufferEvents: config.EVENT_BUFFER_EVENTS,
      bufferBytes: config.EVENT_BUFFER_BYTES,
      highWaterBytes: config.SEND_HIGH_WATER_BYTES,
      slowClientTimeoutMs: config.SLOW_CLIENT_TIMEOUT_MS,
      findResumable: (sessionId) => resumable(sessionId, request),
    });
    core.connect(session, transport);
    request.log.debug({ session: id }, 'websocket session opened');
  });
};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Request headers as handed to the session, without the token (it must not travel further). */
function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { authorization: _a, 'sec-websocket-protocol': _p, cookie: _c, ...rest } = headers;
  return rest;
}

export default mcpWebSocketRoute;
