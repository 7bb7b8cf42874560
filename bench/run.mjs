#!/usr/bin/env node
// `npm run bench`: measures realtime-mcp with the load generator in bench/loadgen/ and, in the same run,
// the anchor servers in bench/anchors/ (raw-ws, sdk-sse, sdk-streamable): interleaved rounds, servers
// pinned to one CPU (taskset -c 0), the load generator to the other (taskset -c 1). Needs nothing
// outside this repository. Writes bench/results/<stamp>/{raw.jsonl,env.json,summary.md,run.log}.
//
// usage: npm run bench -- [--quick] [--rounds 3] [--metrics echo1,echo32,progress,idle]
//          [--transport ws,sse,streamable] [--compare store,cluster,stateless] [--server-entry PATH] [--baseline-entry PATH]
//          [--duration 8] [--warmup 2] [--count 100000] [--sessions 2000] [--settle 2]
//          [--server-cpu 0] [--client-cpu 1] [--out DIR] [--no-build] [--no-anchor] [--extra-anchors raw-ws-cork]
//          [--default-limits] [--server-env K=V,K=V] [--token T] [--force-compare] [--wait-quiet S]
//          [--profile]   (instead of rounds: one CPU-profiled run of our server per transport and metric)

// The server under test: this file, run with node from the repository root (`--server-entry` overrides).
const SERVER_ENTRY = 'dist/plugins/server.js';

// One entry per transport: our server's name and URL path there, and the anchor it is compared with.
const TRANSPORTS = {
  ws: { target: 'realtime-mcp', path: '/mcp/ws', anchor: 'raw-ws' },
  sse: { target: 'realtime-mcp/sse', path: '/mcp/sse', anchor: 'sdk-sse' },
  streamable: { target: 'realtime-mcp/streamable', path: '/mcp', anchor: 'sdk-streamable' },
};
// The anchors (bench/anchors/, `--port P`, `READY <port>`). `--extra-anchors` adds more in the same rounds.
const ANCHORS = {
  'raw-ws': { transport: 'ws', file: 'bench/anchors/raw-ws.mjs', args: [] },
  'raw-ws-cork': { transport: 'ws', file: 'bench/anchors/raw-ws.mjs', args: ['--cork'] },
  'sdk-sse': { transport: 'sse', file: 'bench/anchors/sdk-sse.mjs', args: [] },
  'sdk-streamable': { transport: 'streamable', file: 'bench/anchors/sdk-streamable.mjs', args: [] },
};

// The anchors have no auth and no limits, so by default the bench measures our engine the same way: no
// auth (loopback only; `--server-env AUTH_MODE=jwt,JWT_SECRET=... --token T` measures with it) and the
// per-client limits lifted (`--default-limits` keeps them). Unknown variables are ignored by the server.
const BENCH_AUTH = { AUTH_MODE: 'none' };
const BENCH_LIMITS = {
  RATE_LIMIT_MAX: '0',
  WS_MESSAGES_PER_SECOND: '0',
  MAX_CONNECTIONS_PER_PRINCIPAL: '0',
  MAX_CONCURRENT_PER_SESSION: '10000',
  MAX_CONCURRENT_OPERATIONS: '1000000',
};

import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, settings } from './lib/run-args.mjs';
import { hasTaskset, killAll } from './lib/processes.mjs';
import { runLoadgen } from './lib/measure.mjs';
import { cpuSince, cpuSnapshot, describeMachine, toolVersions } from './lib/machine.mjs';
import { anchorsGroup } from './lib/groups/anchors.mjs';
import { storeGroup } from './lib/groups/store.mjs';
import { clusterGroup } from './lib/groups/cluster.mjs';
import { statelessGroup } from './lib/groups/stateless.mjs';
import { profileRun } from './lib/profile.mjs';
import { summarize } from './summarize.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let args;
let cfg;
try {
  args = parseRunArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
    process.exit(0);
  }
  cfg = settings(args, { TRANSPORTS, ANCHORS });
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
cfg.root = ROOT;
cfg.serverEntry = resolve(ROOT, cfg.serverEntry ?? SERVER_ENTRY);
if (cfg.baselineEntry !== undefined) cfg.baselineEntry = resolve(ROOT, cfg.baselineEntry);
const ourEnvBase = { ...BENCH_AUTH, ...(cfg.defaultLimits ? {} : BENCH_LIMITS), ...cfg.serverEnv };
cfg.ourEnv = (port) => ({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', HEARTBEAT_INTERVAL_MS: '30000', ...ourEnvBase });

if (!hasTaskset) console.error('bench: warning: `taskset` (util-linux) is missing: server and load generator are not pinned, figures are noisier');
if (os.cpus().length < 2) console.error('bench: warning: fewer than 2 CPUs, server and load generator share a core');

if (cfg.build) {
  console.error('bench: npm run build ...');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (b.status !== 0) { console.error('bench: build failed'); process.exit(1); }
}
if (!existsSync(cfg.serverEntry)) {
  const found = spawnSync('find', [join(ROOT, 'dist'), '-name', 'server.js', '-not', '-path', '*/node_modules/*'], { encoding: 'utf8' }).stdout?.trim();
  console.error(`bench: ${cfg.serverEntry} is missing (build first, or pass --server-entry)` +
    (found ? `\n  server.js files under dist/: ${found.split('\n').map((f) => f.slice(ROOT.length + 1)).join(', ')}` : ''));
  process.exit(1);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + (cfg.profile ? '-profile' : cfg.quick ? '-quick' : '');
cfg.outDir = resolve(ROOT, cfg.out ?? join('bench', 'results', stamp));
mkdirSync(cfg.outDir, { recursive: true });
const rawFile = join(cfg.outDir, 'raw.jsonl');
const log = (s) => { process.stderr.write(s + '\n'); appendFileSync(join(cfg.outDir, 'run.log'), s + '\n'); };

const env = {
  ...describeMachine(ROOT),
  server_cpu: cfg.serverCpu, client_cpu: cfg.clientCpu, pinned: hasTaskset,
  quick: cfg.quick, wait_quiet: cfg.waitQuiet, rounds: cfg.rounds, duration: cfg.duration, warmup: cfg.warmup, count: cfg.count, sessions: cfg.sessions, settle: cfg.settle,
  metrics: cfg.metrics, transports: cfg.transports, groups: cfg.groups, extra_anchors: cfg.extraAnchors,
  server_entry: cfg.serverEntry.startsWith(ROOT) ? cfg.serverEntry.slice(ROOT.length + 1) : cfg.serverEntry,
  baseline_entry: cfg.baselineEntry,
  our_server_env: ourEnvBase,
  compare: Object.fromEntries(cfg.transports.map((t) => [t, TRANSPORTS[t].anchor])),
  targets: Object.fromEntries(cfg.transports.map((t) => [t, TRANSPORTS[t].target])),
  load_generator: 'bench/loadgen (ws + undici)',
};
if (cfg.groups.some((g) => g === 'store' || g.startsWith('cluster'))) env.tools = toolVersions();
writeFileSync(join(cfg.outDir, 'env.json'), JSON.stringify(env, null, 2));
log(`out: ${cfg.outDir}\nenv: ${JSON.stringify(env)}`);

const t0 = Date.now();
const cpu0 = cpuSnapshot();
const ctx = {
  log,
  elapsed: () => Math.round((Date.now() - t0) / 1000),
  record: (row) => appendFileSync(rawFile, JSON.stringify(row) + '\n'),
  measure: (target, metric, label, extra = []) => runLoadgen(cfg, target, metric, label, extra, log),
};

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\nbench: ${sig}: stopping the servers it started`);
    killAll('SIGTERM');
    setTimeout(() => { killAll('SIGKILL'); process.exit(130); }, 3000).unref();
  });
}

if (cfg.profile) {
  await profileRun(cfg, ctx, TRANSPORTS);
  process.exit(0);
}

const makers = {
  anchors: () => anchorsGroup(cfg, { TRANSPORTS, ANCHORS }),
  store: () => storeGroup(cfg),
  cluster: () => clusterGroup(cfg),
  'cluster-pinned': () => clusterGroup(cfg, { pinned: true }),
  stateless: () => statelessGroup(cfg),
};
const active = [];
for (const name of cfg.groups) {
  const g = makers[name]();
  let prep;
  try { prep = await g.prepare(); } catch (e) { prep = { skip: `setup failed: ${e.message}` }; }
  if (prep.skip && cfg.forceCompare && !prep.cannot) {
    log(`\n${g.name}: would be skipped (${prep.skip}); run anyway (--force-compare)`);
    prep.skip = undefined;
  }
  if (prep.skip) {
    log(`\n${g.name}: skipped: ${prep.skip}`);
    ctx.record({ group: g.name, title: g.title, skipped: prep.skip });
    await g.cleanup().catch(() => {});
  } else {
    ctx.record({ group: g.name, title: g.title, baseline: g.baseline, header: true });
    active.push(g);
  }
}

try {
  for (let r = 1; r <= cfg.rounds && !interrupted; r++) {
    for (const g of active) if (!interrupted) await g.round(ctx, r);
  }
} finally {
  for (const g of active) await g.cleanup().catch((e) => log(`cleanup of ${g.name}: ${e.message}`));
}
env.loadavg_end = os.loadavg().map((x) => x.toFixed(2)).join(' ');
env.wall_s = ctx.elapsed();
env.cpu_during_run = cpuSince(cpu0);
writeFileSync(join(cfg.outDir, 'env.json'), JSON.stringify(env, null, 2));

const md = summarize(rawFile, env);
writeFileSync(join(cfg.outDir, 'summary.md'), md + '\n');
process.stdout.write('\n' + md + '\n');
process.stdout.write(`\nraw results: ${rawFile}\n`);
