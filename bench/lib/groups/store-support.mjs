// Does this build of the server keep its state in redis? Start it with STORE=redis, open one WebSocket
// session and make one call, then ask redis-server whether anyone but us ever connected.
import { startOurs } from '../servers.mjs';
import { redisInfo } from '../redis.mjs';
import { WsSession } from '../../loadgen/ws-session.mjs';

/** Resolves to undefined when STORE=redis works, else to the reason it does not. */
export async function storeUnsupported(cfg, redis) {
  const before = (await redisInfo(redis.port)).total_connections_received;
  let server;
  try {
    server = await startOurs(cfg, { name: 'realtime-mcp-store-probe', env: { STORE: 'redis', REDIS_URL: redis.url } });
  } catch (e) {
    return `the server does not start with STORE=redis (${e.message})`;
  }
  try {
    const s = new WsSession({ url: `ws://127.0.0.1:${server.port}/mcp/ws`, subprotocol: 'mcp', protocolVersion: '2025-11-25', headers: cfg.token ? { authorization: `Bearer ${cfg.token}` } : {} });
    await s.open();
    await s.rpc.call('tools/call', { name: 'echo', arguments: { message: 'store probe' } });
    await s.close();
  } catch (e) {
    await server.stop();
    return `a WebSocket session failed with STORE=redis (${e.message})`;
  }
  await server.stop();
  const after = (await redisInfo(redis.port)).total_connections_received;
  // `before` already counted its own INFO connection; the second INFO connection accounts for 1.
  if (after - before <= 1) return 'this build ignores STORE=redis (the server never connected to redis-server)';
  return undefined;
}
