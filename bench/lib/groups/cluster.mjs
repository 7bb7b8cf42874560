// --compare cluster, cluster-pinned: Streamable HTTP echo 32×8 through a real nginx (round robin, upstream
// keep-alive) in front of two server processes sharing a redis-server (STORE=redis), against one server
// process reached directly. Two placements, each its own group:
//   - `cluster`: nothing is pinned: in both setups the load generator and every server process share
//     the machine's cores, as on a user's 2-core host. This is "what spreading over two nodes costs on
//     these two cores": the single process can use one core (Node runs JavaScript on one thread), the
//     two nodes can use both, and nginx and Redis take their share.
//   - `cluster-pinned`: both nodes, nginx and redis-server on the server CPU, the load generator on the
//     client CPU: the cluster gets the same one core as the single process, so the ratio is the CPU cost
//     of the clustered path (proxy hop + store in redis), with no scale-out at all.
import { startOurs } from '../servers.mjs';
import { urlFor } from '../measure.mjs';
import { redisAvailable, redisCommand, startRedis } from '../redis.mjs';
import { nginxAvailable, startNginx } from '../nginx.mjs';
import { storeUnsupported } from './store-support.mjs';

const METRIC = 'echo32';

export function clusterGroup(cfg, { pinned = false } = {}) {
  const group = pinned ? 'cluster-pinned' : 'cluster';
  // '' = not pinned (processes.mjs); the load generator follows (see runLoadgen's target.clientCpu).
  const cpu = pinned ? cfg.serverCpu : '';
  const clientCpu = pinned ? cfg.clientCpu : '';
  let redis;

  async function single(ctx, r) {
    const server = await startOurs(cfg, { name: `${group}-single`, cpu });
    return { pids: () => server.pids(), port: server.port, stop: () => server.stop() };
  }

  async function cluster(ctx, r) {
    await redisCommand(redis.port, 'FLUSHALL');
    const nodes = [];
    try {
      for (const n of ['a', 'b']) nodes.push(await startOurs(cfg, { name: `${group}-node-${n}`, cpu, env: { STORE: 'redis', REDIS_URL: redis.url } }));
      const nginx = await startNginx({ upstreamPorts: nodes.map((n) => n.port), cpu, logDir: cfg.outDir, logName: `${group}-nginx.log` });
      return {
        pids: () => [...nodes.flatMap((n) => n.pids()), ...nginx.pids(), redis.pid],
        port: nginx.port,
        stop: async () => { await nginx.stop(); for (const n of nodes) await n.stop(); },
      };
    } catch (e) {
      for (const n of nodes) await n.stop();
      throw e;
    }
  }

  return {
    name: group,
    title: pinned
      ? 'nginx + 2 nodes (STORE=redis) vs 1 node direct (Streamable HTTP), every server process on the one server CPU'
      : 'nginx + 2 nodes (STORE=redis) vs 1 node direct (Streamable HTTP), nothing pinned: both setups share the whole machine with the load generator',
    baseline: 'single',
    async prepare() {
      const missing = [!nginxAvailable() && 'nginx', !redisAvailable() && 'redis-server'].filter(Boolean);
      if (missing.length) return { skip: `${missing.join(' and ')} not on PATH (Debian: apt-get install ${missing.map((m) => (m === 'nginx' ? 'nginx-light' : m)).join(' ')})`, cannot: true };
      redis = await startRedis({ cpu, logDir: cfg.outDir, logName: `${group}-redis-server.log` });
      const why = await storeUnsupported(cfg, redis);
      return why ? { skip: `two nodes need one store for both: ${why}` } : {};
    },
    async round(ctx, r) {
      const list = [['single', single], ['cluster', cluster]];
      if (r % 2 === 0) list.reverse();
      for (const [name, start] of list) {
        ctx.log(`\n== ${group} round ${r}/${cfg.rounds}: ${name} (${ctx.elapsed()} s)`);
        let setup;
        try {
          setup = await start(ctx, r);
          const target = { transport: 'streamable', url: urlFor('streamable', setup.port, '/mcp'), pids: setup.pids(), token: cfg.token, clientCpu };
          ctx.record({ group, target: name, transport: 'streamable', metric: METRIC, round: r, ...(pinned ? {} : { pinned: false }), ...(await ctx.measure(target, METRIC, `${group}-${name}/${METRIC}/r${r}`)) });
        } catch (e) {
          ctx.log(`  ERROR ${e.message}`);
          ctx.record({ group, target: name, transport: 'streamable', metric: METRIC, round: r, fatal: e.message });
        }
        await setup?.stop();
      }
    },
    async cleanup() { await redis?.stop(); },
  };
}
