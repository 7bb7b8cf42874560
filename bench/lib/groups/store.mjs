// --compare store: our server with STORE=memory against STORE=redis (a real redis-server started from
// PATH, pinned to the server CPU like the server: the ratio is the whole server-side cost of the
// store in redis). WebSocket echo 32×8 and progress; summary ratio = redis ÷ memory.
import { startOurs } from '../servers.mjs';
import { urlFor } from '../measure.mjs';
import { redisAvailable, redisCommand, startRedis } from '../redis.mjs';
import { storeUnsupported } from './store-support.mjs';

const METRICS = ['echo32', 'progress'];

export function storeGroup(cfg) {
  let redis;
  const variants = () => [
    { name: 'memory', env: { STORE: 'memory' }, extraPids: () => [] },
    { name: 'redis', env: { STORE: 'redis', REDIS_URL: redis.url }, extraPids: () => [redis.pid] },
  ];
  return {
    name: 'store',
    title: 'STORE=redis vs STORE=memory (WebSocket)',
    baseline: 'memory',
    async prepare() {
      if (!redisAvailable()) return { skip: 'redis-server is not on PATH (Debian: apt-get install redis-server)', cannot: true };
      redis = await startRedis({ cpu: cfg.serverCpu, logDir: cfg.outDir });
      const why = await storeUnsupported(cfg, redis);
      return why ? { skip: why } : {};
    },
    async round(ctx, r) {
      const list = variants();
      if (r % 2 === 0) list.reverse();
      for (const v of list) {
        ctx.log(`\n== store round ${r}/${cfg.rounds}: STORE=${v.name} (${ctx.elapsed()} s)`);
        await redisCommand(redis.port, 'FLUSHALL');
        let server;
        try {
          server = await startOurs(cfg, { name: `realtime-mcp-store-${v.name}`, env: v.env });
          for (const m of METRICS) {
            const target = { transport: 'ws', url: urlFor('ws', server.port, '/mcp/ws'), pids: [...server.pids(), ...v.extraPids()], token: cfg.token };
            ctx.record({ group: 'store', target: v.name, transport: 'ws', metric: m, round: r, ...(await ctx.measure(target, m, `store-${v.name}/${m}/r${r}`)) });
          }
        } catch (e) {
          ctx.log(`  ERROR ${e.message}`);
          for (const m of METRICS) ctx.record({ group: 'store', target: v.name, transport: 'ws', metric: m, round: r, fatal: e.message });
        }
        await server?.stop();
      }
    },
    async cleanup() { await redis?.stop(); },
  };
}
