// GET /mcp/ws: MCP over WebSocket. Everything HTTP (auth, rate limits, Origin checks, session limits)
// happens in hooks before the upgrade; after it, the socket is one session's transport.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { kSessionId, type UpgradeRequest } from '../plugins/websocket.js';
import { WebSocketServerTransport } from '../src/transports/websocket-transport.js';

const mcpWebSocketRoute: FastifyPluginAsync = async (app) => {
  const core = app.mcp;

  async function admit(request: FastifyRequest, reply: FastifyReply) {
    if (core.sessions.full) {
      return reply.code(503).header('Retry-After', '5').send({ error: 'Too many sessions on this server; try again later' });
    }
    (request.raw as UpgradeRequest)[kSessionId] = core.sessions.newId();
  }

  app.get('/mcp/ws', { websocket: true, preHandler: admit }, (socket, request) => {
    const id = (request.raw as UpgradeRequest)[kSessionId]!;
    const session = core.sessions.create('ws', request.principal, id);
    const transport = new WebSocketServerTransport(socket, {
      sessionId: id,
      extra: { requestInfo: { headers: request.headers } },
      messageLimit: app.mcpLimits.newMessageLimiter(),
    });
    app.mcpHeartbeat.watch(socket);
    core.connect(session, transport);
    request.log.debug({ session: id }, 'websocket session opened');
  });
};

export default mcpWebSocketRoute;
