// --compare stateless: Streamable HTTP with MCP 2026-07-28 stateless requests (no initialize, no
// session; _meta and Mcp-* headers on every request) against sessionful 2025-11-25 requests, on the
// same server process in each round. Skipped, with the server's answer, when a `server/discover` POST
// gets no result (the server does not speak 2026-07-28).
import http from 'node:http';
import { startOurs } from '../servers.mjs';
import { urlFor } from '../measure.mjs';
import { STATELESS_META, STATELESS_VERSION } from '../../loadgen/streamable-session.mjs';

const METRICS = ['echo1', 'echo32', 'progress'];

/** POSTs server/discover the 2026-07-28 way; resolves to undefined when it got a result, else why not. */
export function discoverUnsupported(port, token) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: STATELESS_META } });
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/mcp', method: 'POST',
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': 'server/discover',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        const messages = (res.headers['content-type'] ?? '').startsWith('text/event-stream')
          ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim())
          : [text];
        let error;
        for (const m of messages) {
          try {
            const msg = JSON.parse(m);
            if (msg.id === 1 && msg.result !== undefined) { resolve(undefined); return; }
            if (msg.error) error = `${msg.error.code} ${msg.error.message}`;
          } catch { /* not JSON */ }
        }
        resolve(`the server does not speak MCP ${STATELESS_VERSION}: server/discover answered HTTP ${res.statusCode}${error ? ` (${error})` : text ? ` (${text.slice(0, 120)})` : ''}`);
      });
    });
    req.on('error', (e) => resolve(`server/discover failed: ${e.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.end(body);
  });
}

export function statelessGroup(cfg) {
  const variants = [
    { name: 'sessionful 2025-11-25', extra: [] },
    { name: `stateless ${STATELESS_VERSION}`, extra: ['--stateless'] },
  ];
  return {
    name: 'stateless',
    title: `Streamable HTTP: stateless ${STATELESS_VERSION} vs sessionful 2025-11-25`,
    baseline: variants[0].name,
    async prepare() {
      let server;
      try {
        server = await startOurs(cfg, { name: 'realtime-mcp-discover-probe' });
        const why = await discoverUnsupported(server.port, cfg.token);
        return why ? { skip: why } : {};
      } finally {
        await server?.stop();
      }
    },
    async round(ctx, r) {
      ctx.log(`\n== stateless round ${r}/${cfg.rounds} (${ctx.elapsed()} s)`);
      let server;
      try {
        server = await startOurs(cfg, { name: 'realtime-mcp-stateless' });
        const list = r % 2 === 0 ? [...variants].reverse() : variants;
        for (const m of METRICS) {
          for (const v of list) {
            const target = { transport: 'streamable', url: urlFor('streamable', server.port, '/mcp'), pids: server.pids(), token: cfg.token };
            ctx.record({ group: 'stateless', target: v.name, transport: 'streamable', metric: m, round: r, ...(await ctx.measure(target, m, `${v.name}/${m}/r${r}`, v.extra)) });
          }
        }
      } catch (e) {
        ctx.log(`  ERROR ${e.message}`);
        for (const v of variants) for (const m of METRICS) ctx.record({ group: 'stateless', target: v.name, transport: 'streamable', metric: m, round: r, fatal: e.message });
      }
      await server?.stop();
    },
    async cleanup() {},
  };
}
