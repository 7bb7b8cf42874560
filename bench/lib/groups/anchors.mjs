// The default comparison: our server on each transport against that transport's anchor (and any
// --extra-anchors), interleaved. Busy metrics (echo1, echo32, progress) share one server process; idle
// gets a fresh one started with --expose-gc. Who goes first alternates between rounds.
// `--baseline-entry PATH` adds another build of our server (e.g. a worktree at an earlier commit) as one
// more column, `<target>@baseline`, measured in the same rounds: before/after without the machine's drift.
import { startAnchor, startOurs } from '../servers.mjs';
import { urlFor } from '../measure.mjs';

export function anchorsGroup(cfg, { TRANSPORTS, ANCHORS }) {
  /** The servers of one transport, ours first. */
  const serversFor = (t) => {
    const T = TRANSPORTS[t];
    const anchors = [...(cfg.anchor ? [T.anchor] : []), ...cfg.extraAnchors.filter((a) => ANCHORS[a].transport === t && a !== T.anchor)];
    return [
      { name: T.target, ours: true, start: (gc) => startOurs(cfg, { name: T.target, gc }) },
      ...(cfg.baselineEntry ? [{ name: `${T.target}@baseline`, ours: false, start: (gc) => startOurs({ ...cfg, serverEntry: cfg.baselineEntry }, { name: `${T.target}@baseline`, gc }) }] : []),
      ...anchors.map((a) => ({ name: a, ours: false, start: (gc) => startAnchor(cfg, a, ANCHORS[a], { gc }) })),
    ];
  };

  async function measureOn(ctx, t, srv, round, metrics, gc) {
    let server;
    try {
      server = await srv.start(gc);
      for (const m of metrics) {
        const target = { transport: t, url: urlFor(t, server.port, TRANSPORTS[t].path), pids: server.pids(), token: srv.ours ? cfg.token : undefined };
        const res = await ctx.measure(target, m, `${srv.name}/${m}/r${round}`);
        ctx.record({ group: 'anchors', target: srv.name, anchor: srv.name, ours: srv.ours, transport: t, metric: m, round, ...res });
      }
    } catch (e) {
      ctx.log(`  ERROR ${e.message}`);
      for (const m of metrics) ctx.record({ group: 'anchors', target: srv.name, anchor: srv.name, ours: srv.ours, transport: t, metric: m, round, fatal: e.message });
    }
    await server?.stop();
  }

  return {
    name: 'anchors',
    title: 'our server vs the anchors',
    serversFor,
    async prepare() { return {}; },
    async round(ctx, r) {
      for (const t of cfg.transports) {
        const list = serversFor(t);
        if (r % 2 === 0) list.reverse();
        for (const srv of list) {
          ctx.log(`\n== round ${r}/${cfg.rounds}: ${srv.name} (${ctx.elapsed()} s)`);
          const busy = cfg.metrics.filter((m) => m !== 'idle');
          if (busy.length) await measureOn(ctx, t, srv, r, busy, false);
          if (cfg.metrics.includes('idle')) await measureOn(ctx, t, srv, r, ['idle'], true);
        }
      }
    },
    async cleanup() {},
  };
}
