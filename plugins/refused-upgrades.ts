// A WebSocket upgrade refused by a guard (401, 403, 429, 404 …) is answered over HTTP, and then the
// socket is dropped (@fastify/websocket destroys it once the answer is out). Say so: `Connection: close`,
// so a pooled HTTP client does not send its next request on a socket that is about to go (Node's agent
// keeps connections alive by default and would see ECONNRESET).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';

const refusedUpgradesPlugin: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.headers.upgrade !== undefined) reply.header('connection', 'close');
    done(null, payload);
  });
};

export default fp(refusedUpgradesPlugin, { fastify: '5.x', name: 'realtime-mcp-refused-upgrades' });
