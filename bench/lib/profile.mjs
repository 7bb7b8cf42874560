// --profile: instead of rounds, one run of our server per transport and busy metric under
// `node --cpu-prof`, then the top functions (bench/tools/cpuprof-top.mjs) into <out>/profiles/.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOurs } from './servers.mjs';
import { urlFor } from './measure.mjs';
import { cpuprofTop } from '../tools/cpuprof-top.mjs';

/** Frames whose inclusive time is reported. */
const INCLUSIVE = [
  '^writev', 'garbage', '  dist/src/', 'websocket-transport', 'jsonrpc\\.js', 'dispatcher\\.js', 'runner\\.js',
  'operation\\.js', 'session\\.js', 'progress-rate', 'process-batch', '  ws/lib/receiver', '  ws/lib/sender',
  'typebox/', 'node:internal/modules|compileSourceTextModule|wrapSafe',
];

export async function profileRun(cfg, ctx, TRANSPORTS) {
  for (const t of cfg.transports) {
    const T = TRANSPORTS[t];
    for (const m of cfg.metrics.filter((x) => x !== 'idle')) {
      const dir = join(cfg.outDir, 'profiles', `${t}-${m}`);
      mkdirSync(dir, { recursive: true });
      ctx.log(`\n== profile: ${T.target} ${m}`);
      let server;
      try {
        server = await startOurs(cfg, { name: `${T.target}-profile`, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
        const target = { transport: t, url: urlFor(t, server.port, T.path), pids: server.pids(), token: cfg.token };
        // progress: 5 measured calls, so the steady state outweighs startup in the profile.
        const res = await ctx.measure(target, m, `${T.target}/${m}/profile`, m === 'progress' ? ['--repeat', '5'] : []);
        ctx.record({ group: 'anchors', target: T.target, anchor: T.target, ours: true, transport: t, metric: m, round: 0, profiled: true, ...res });
      } catch (e) { ctx.log(`  ERROR ${e.message}`); }
      await server?.stop();
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) { ctx.log(`  no .cpuprofile written in ${dir}`); continue; }
      const top = cpuprofTop(JSON.parse(readFileSync(join(dir, file), 'utf8')), { top: 30, inclusive: INCLUSIVE });
      writeFileSync(join(dir, 'top.txt'), top + '\n');
      ctx.log(`  profile: ${join(dir, file)}\n  top: ${join(dir, 'top.txt')}`);
      process.stdout.write(`\n### ${T.target} ${m} (profiled)\n\n${top}\n`);
    }
  }
}
