// @fastify/websocket set up for MCP: subprotocol `mcp`, the payload limit (ws closes 1009 above it),
// no compression, the session id in the 101 response, and one heartbeat timer for all sockets.
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Heartbeat } from '../src/transports/heartbeat.js';

/** Where the ws route's preHandler leaves the session id for the 101 response. */
export const kSessionId = Symbol('realtime-mcp.sessionId');
export type UpgradeRequest = IncomingMessage & { [kSessionId]?: string };

declare module 'fastify' {
  interface FastifyInstance {
    mcpHeartbeat: Heartbeat;
  }
}

const websocketPlugin: FastifyPluginAsync = async (app) => {
  let closing = false;
  await app.register(websocket, {
    options: {
      maxPayload: app.mcpConfig.MAX_PAYLOAD_BYTES,
      perMessageDeflate: false,
      // A peer that never answers our close frame (shutdown 1001, 1008, …) is dropped after this, so it
      // cannot hold the process past the shutdown grace period (ws defaults to 30 s; @types/ws lacks it).
      ...({ closeTimeout: 3000 } as object),
      // Select `mcp` when offered; never echo another offered protocol (it may carry a token).
      handleProtocols: (protocols: Set<string>) => (protocols.has('mcp') ? 'mcp' : false),
    },
    // Sessions are closed by the graceful-shutdown plugin (1001 after the grace period), not here.
    preClose: (done: () => void) => {
      closing = true;
      done();
    },
  });
  // While closing, Fastify's router answers an upgrade with 503 before any hook runs, so the hook that
  // destroys a refused upgrade's socket never runs: a client keeping it open would hold server.close()
  // (and the process) past the grace period. End those sockets once the 503 is written.
  app.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    if (closing) socket.end(() => socket.destroy());
  });
  app.websocketServer.on('headers', (headers: string[], req: UpgradeRequest) => {
    const id = req[kSessionId];
    if (id !== undefined) headers.push(`Mcp-Session-Id: ${id}`);
  });
  const heartbeat = new Heartbeat(app.mcpConfig.HEARTBEAT_INTERVAL_MS);
  app.decorate('mcpHeartbeat', heartbeat);
  app.addHook('onClose', async () => heartbeat.stop());
};

export default fp(websocketPlugin, { fastify: '5.x', name: 'realtime-mcp-websocket', dependencies: ['realtime-mcp-core'] });
