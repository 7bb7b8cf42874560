// @fastify/websocket set up for MCP: subprotocol `mcp`, the payload limit (ws closes 1009 above it),
// permessage-deflate only when asked for (WS_COMPRESSION), the session id in the 101 response, and one
// heartbeat timer for all of this instance's sockets.
//
// @fastify/websocket routes every upgrade of the HTTP server through Fastify from its own 'upgrade'
// listener; two listeners on one server would route each upgrade twice. So the first realtime-mcp
// instance on a server listens, and a second one (another prefix in the same app) registers the plugin
// with a server that never emits: its routes are still wrapped for upgrades by its own instance, and the
// first listener's routing reaches them. An app that registered @fastify/websocket itself keeps its own.
import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEFAULTS } from '../src/defaults.js';
import { Heartbeat } from '../src/transports/websocket/heartbeat.js';

declare module 'fastify' {
  interface FastifyInstance {
    mcpHeartbeat: Heartbeat;
    /** Put `Mcp-Session-Id: <id>` in this upgrade's 101 response. */
    mcpSessionIdOnUpgrade(request: IncomingMessage, sessionId: string): void;
  }
}

/** HTTP servers whose upgrades an instance of ours already routes. */
const listening = new WeakSet<object>();

const websocketPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  let closing = false;
  if (!app.hasDecorator('websocketServer')) {
    const first = !listening.has(app.server);
    listening.add(app.server);
    await app.register(websocket, {
      options: {
        ...(first ? {} : { server: new EventEmitter() as unknown as Server }),
        maxPayload: config.MAX_PAYLOAD_BYTES,
        perMessageDeflate: config.WS_COMPRESSION ? { threshold: 1024 } : false,
        // A peer that never answers our close frame (shutdown 1001, 1008, …) is dropped after this, so it
        // cannot hold the process past the shutdown grace period (ws defaults to 30 s; @types/ws lacks it).
        ...({ closeTimeout: DEFAULTS.WS_CLOSE_TIMEOUT_MS } as object),
        // Select `mcp` when offered; never echo another offered protocol (it may carry a token).
        handleProtocols: (protocols: Set<string>) => (protocols.has('mcp') ? 'mcp' : false),
      },
      errorHandler: onSocketError,
      // Sessions are closed by the graceful shutdown (1001 after the grace period), not here.
      preClose: (done: () => void) => {
        closing = true;
        done();
      },
    });
  } else {
    app.log.warn('realtime-mcp: using the app\'s own @fastify/websocket; its maxPayload and handleProtocols apply to /mcp/ws');
    app.addHook('preClose', async () => {
      closing = true;
    });
  }
  // While closing, Fastify's router answers an upgrade with 503 before any hook runs, so nothing would
  // end the socket: a client keeping it open would hold the server past the grace period.
  app.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    if (closing) socket.end(() => socket.destroy());
  });
  const sessionIds = new WeakMap<IncomingMessage, string>();
  app.decorate('mcpSessionIdOnUpgrade', (request: IncomingMessage, sessionId: string) => {
    sessionIds.set(request, sessionId);
  });
  app.websocketServer.on('headers', (headers: string[], req: IncomingMessage) => {
    const id = sessionIds.get(req);
    if (id !== undefined) headers.push(`Mcp-Session-Id: ${id}`);
  });
  const heartbeat = new Heartbeat(config.HEARTBEAT_INTERVAL_MS);
  app.decorate('mcpHeartbeat', heartbeat);
  app.addHook('onClose', async () => heartbeat.stop());
};

/**
 * An error on an established socket. When ws is already closing (it answered a bad frame from the peer,
 * e.g. one over maxPayload, with its close frame: 1009, 1007, 1002 …), let it finish: it half-closes
 * after its close frame, keeps reading and dropping what the peer is still sending, and drops the peer
 * after closeTimeout. @fastify/websocket's default handler terminates at once instead: closing a socket
 * with unread bytes makes the kernel send a reset, which discards the close frame still in flight, so a
 * client that was still sending its big frame (Chromium, a chunked raw client) saw 1006, not 1009.
 * Anything else (a handler that threw) is logged and the socket terminated, as the default does.
 */
function onSocketError(error: Error, socket: WebSocket, request: FastifyRequest): void {
  if (socket.readyState === socket.CLOSING) {
    request.log.debug({ err: error.message }, 'websocket closed for a protocol error');
    return;
  }
  request.log.error(error);
  socket.terminate();
}

export default fp(websocketPlugin, { fastify: '5.x', name: 'realtime-mcp-websocket' });
