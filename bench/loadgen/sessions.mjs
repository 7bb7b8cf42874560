// One factory per run: makes sessions of the chosen transport and owns what they share (HTTP pools).
import { WsSession } from './ws-session.mjs';
import { SseSession } from './sse-session.mjs';
import { StreamableSession } from './streamable-session.mjs';
import { postPool, streamPool } from './http.mjs';

/**
 * o: { transport: 'ws'|'sse'|'streamable', url, headers, protocolVersion, subprotocol, stateless }.
 * postConnections: most POSTs in flight at once (HTTP transports).
 */
export function sessionFactory(o, postConnections) {
  if (o.transport === 'ws') return { create: () => new WsSession(o), destroy: async () => {} };
  if (o.transport !== 'sse' && o.transport !== 'streamable') throw new Error(`unknown transport ${o.transport} (ws, sse, streamable)`);
  const origin = new URL(o.url).origin;
  const pools = { posts: postPool(origin, postConnections), streams: streamPool(origin) };
  const Session = o.transport === 'sse' ? SseSession : StreamableSession;
  return {
    create: () => new Session(o, pools),
    destroy: async () => {
      await Promise.allSettled([pools.posts.destroy(), pools.streams.destroy()]);
    },
  };
}

/** params of a tools/call as JSON, with the session's extra _meta (stateless Streamable HTTP). */
export function toolParams(session, name, args, progressToken) {
  let meta = session.extraMeta;
  if (progressToken !== undefined) meta = { ...meta, progressToken };
  return JSON.stringify(meta === undefined ? { name, arguments: args } : { name, arguments: args, _meta: meta });
}
