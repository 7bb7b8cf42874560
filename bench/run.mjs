#!/usr/bin/env node
// `npm run bench`: drives realtime-mcp with shared/mcpbench, exactly as mcpbench's tools/run-anchors.mjs
// drives its anchors, and measures the reference anchor (raw-ws for WebSocket) in the same run:
// interleaved rounds, server pinned to one CPU (taskset -c 0), load generator to the other (taskset -c 1).
// Writes bench/results/<stamp>/{raw.jsonl,env.json,summary.md,run.log} and prints the summary.
//
// usage: npm run bench -- [--rounds 3] [--metrics echo1,echo32,progress,idle] [--transport ws]
//          [--duration 8] [--warmup 2] [--count 100000] [--sessions 2000]
//          [--server-cpu 0] [--client-cpu 1] [--out DIR] [--no-build] [--no-anchor] [--extra-anchors raw-ws-cork]
//          [--default-limits] [--server-env K=V,K=V] [--token T]
//          [--profile]   (instead of rounds: one CPU-profiled run of our server per metric + cpuprof-top)
// env: MCPBENCH_DIR (default ../shared/mcpbench, or ../../shared/mcpbench, relative to the repo root)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync, appendFileSync, constants, cpSync, createWriteStream, existsSync, mkdirSync,
  readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = join(ROOT, 'bench');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ what we measure
// One entry per transport: our server's URL path on that transport and the anchor it is compared with.
// Adding SSE / Streamable HTTP later is one entry each (their anchors already exist in mcpbench).
const TRANSPORTS = {
  ws: { target: 'realtime-mcp', transport: 'ws', path: '/mcp/ws', anchor: 'raw-ws' },
  sse: { target: 'realtime-mcp/sse', transport: 'sse', path: '/mcp/sse', anchor: 'sdk-sse' },
  streamable: { target: 'realtime-mcp/streamable', transport: 'streamable', path: '/mcp', anchor: 'sdk-streamable' },
};
// mcpbench's anchor servers (files in mcpbench/anchors/, started with `--port P`, print `READY ...`).
// `--extra-anchors a,b` measures more of them next to the reference (e.g. raw-ws-cork, the per-tick
// write-coalescing ceiling), with the same transport as their entry here.
const ANCHORS = {
  'raw-ws': { transport: 'ws', cmd: ['anchors/raw-ws.mjs'], path: '/mcp/ws' },
  'raw-ws-cork': { transport: 'ws', cmd: ['anchors/raw-ws.mjs', '--cork'], path: '/mcp/ws' },
  'fastify-ws-raw': { transport: 'ws', cmd: ['anchors/fastify-ws-raw.mjs'], path: '/mcp/ws' },
  'sdk-ws-naive': { transport: 'ws', cmd: ['anchors/sdk-ws-naive.mjs'], path: '/mcp/ws' },
  'sdk-sse': { transport: 'sse', cmd: ['anchors/sdk-sse.mjs'], path: '/mcp/sse' },
  'sdk-streamable': { transport: 'streamable', cmd: ['anchors/sdk-streamable.mjs'], path: '/mcp' },
};

// Our server: `node dist/src/server.js`, configured by env; ready when it prints this line.
// The anchors have no auth and no limits, so by default the bench measures our engine the same way:
// no auth (loopback only; `--server-env AUTH_MODE=jwt,JWT_SECRET=... --token T` measures with it) and
// the per-client limits lifted (`--default-limits` keeps the server's defaults).
// Unknown variables are ignored by the server, so these lists may name settings a build does not have yet.
const BENCH_AUTH = { AUTH_MODE: 'none' };
const BENCH_LIMITS = {
  RATE_LIMIT_MAX: '0',
  WS_MESSAGES_PER_SECOND: '0',
  MAX_CONNECTIONS_PER_PRINCIPAL: '0',
  MAX_CONCURRENT_PER_SESSION: '10000',
  MAX_CONCURRENT_OPERATIONS: '1000000',
};
const OUR_SERVER = {
  file: 'dist/src/server.js',
  env: (port) => ({
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', HEARTBEAT_INTERVAL_MS: '30000',
    ...BENCH_AUTH, ...(args.defaultLimits ? {} : BENCH_LIMITS), ...serverEnv,
  }),
  gcEnv: { REALTIME_MCP_GC_SIGNAL: '1' },
  ready: (port) => `realtime-mcp listening on http://127.0.0.1:${port}`,
};

// ------------------------------------------------------------------ CLI
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    let key = a.slice(2);
    let val;
    const eq = key.indexOf('=');
    if (eq >= 0) { val = key.slice(eq + 1); key = key.slice(0, eq); }
    key = key.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (/^no[A-Z]/.test(key)) { out[key[2].toLowerCase() + key.slice(3)] = false; continue; }
    if (['profile', 'help', 'defaultLimits'].includes(key)) { out[key] = true; continue; }
    if (val === undefined) val = argv[++i];
    if (val === undefined) throw new Error(`missing value for --${key}`);
    out[key] = val;
  }
  return out;
}
let args;
try { args = parseArgs(process.argv.slice(2)); } catch (e) { console.error(`bench: ${e.message}`); process.exit(2); }
if (args.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split("\n").slice(1, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const rounds = Number(args.rounds ?? 3);
const duration = Number(args.duration ?? 8);
const warmup = Number(args.warmup ?? 2);
const count = Number(args.count ?? 100000);
const sessions = Number(args.sessions ?? 2000);
const serverCpu = String(args.serverCpu ?? 0);
const clientCpu = String(args.clientCpu ?? 1);
const withAnchor = args.anchor !== false;
// --server-env K=V,K=V: more environment for our server (e.g. to measure with a setting changed).
const serverEnv = Object.fromEntries(String(args.serverEnv ?? '').split(',').filter(Boolean).map((kv) => {
  const i = kv.indexOf('=');
  if (i <= 0) { console.error(`bench: --server-env wants K=V, got ${kv}`); process.exit(2); }
  return [kv.slice(0, i), kv.slice(i + 1)];
}));
const extraAnchors = String(args.extraAnchors ?? '').split(',').filter(Boolean);
for (const a of extraAnchors) if (!ANCHORS[a]) { console.error(`bench: unknown anchor ${a} (known: ${Object.keys(ANCHORS).join(', ')})`); process.exit(2); }
const METRICS = ['echo1', 'echo32', 'progress', 'idle'];
const metrics = String(args.metrics ?? METRICS.join(',')).split(',').filter(Boolean);
const transports = String(args.transport ?? 'ws').split(',').filter(Boolean);
for (const m of metrics) if (!METRICS.includes(m)) { console.error(`bench: unknown metric ${m} (known: ${METRICS.join(', ')})`); process.exit(2); }
for (const t of transports) if (!TRANSPORTS[t]) { console.error(`bench: unknown transport ${t} (known: ${Object.keys(TRANSPORTS).join(', ')})`); process.exit(2); }

const METRIC_DEFS = {
  echo1: ['echo', ['--connections', '1', '--pipeline', '1', '--duration', String(duration), '--warmup', String(warmup)]],
  echo32: ['echo', ['--connections', '32', '--pipeline', '8', '--duration', String(duration), '--warmup', String(warmup)]],
  progress: ['progress', ['--count', String(count), '--repeat', '1', '--warmup-count', '1000']],
  idle: ['idle', ['--sessions', String(sessions), '--settle', '3', '--gc-signal', '--open-concurrency', '64']],
};

// ------------------------------------------------------------------ locate and prepare mcpbench
function locateMcpbench() {
  const candidates = process.env.MCPBENCH_DIR
    ? [resolve(ROOT, process.env.MCPBENCH_DIR)]
    : [resolve(ROOT, '../shared/mcpbench'), resolve(ROOT, '../../shared/mcpbench')];
  const found = candidates.find((d) => existsSync(join(d, 'mcpbench.mjs')));
  if (!found) {
    console.error(
      `bench: mcpbench not found (looked in ${candidates.join(', ')}).\n` +
      '  It is the load generator and anchor servers in the shared folder beside this repository\n' +
      '  (shared/mcpbench). Put a copy of it there, or point MCPBENCH_DIR at it:\n' +
      '    MCPBENCH_DIR=/path/to/mcpbench npm run bench',
    );
    process.exit(2);
  }
  return found;
}

/** True when we may write into dir: it is writable and not marked read-only by its mode (root ignores modes). */
function writable(dir) {
  try { accessSync(dir, constants.W_OK); } catch { return false; }
  return (statSync(dir).mode & 0o222) !== 0;
}

const lockHash = (dir) => createHash('sha256').update(readFileSync(join(dir, 'package-lock.json'))).digest('hex').slice(0, 16);

function npmCi(dir) {
  console.error(`bench: installing mcpbench's dependencies (npm ci in ${dir}) ...`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

/**
 * Where to run mcpbench from: its own folder when its node_modules is installed (or installable there),
 * else a runtime copy in bench/.mcpbench-cache/ (gitignored) with its own `npm ci`.
 */
function prepareMcpbench(src) {
  if (existsSync(join(src, 'node_modules'))) return src;
  if (writable(src) && npmCi(src)) return src;
  const cache = join(BENCH_DIR, '.mcpbench-cache');
  mkdirSync(cache, { recursive: true });
  // Refresh the code on every run (cheap); reinstall only when the lockfile changed.
  for (const name of readdirSync(src)) {
    if (name === 'node_modules' || name === 'results') continue;
    cpSync(join(src, name), join(cache, name), { recursive: true, force: true });
  }
  const stampFile = join(cache, '.lock-hash');
  const want = lockHash(src);
  const have = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  if (have !== want || !existsSync(join(cache, 'node_modules'))) {
    rmSync(join(cache, 'node_modules'), { recursive: true, force: true });
    if (!npmCi(cache)) {
      console.error(`bench: npm ci failed in ${cache}; the npm registry must be reachable the first time.`);
      process.exit(2);
    }
    writeFileSync(stampFile, want + '\n');
  }
  return cache;
}

// ------------------------------------------------------------------ helpers
function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

const sh = (cmd, a) => { try { return execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return 'n/a'; } };

function checkTaskset() {
  if (sh('taskset', ['-c', '0', 'true']) === 'n/a' && spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    console.error('bench: `taskset` is missing (package util-linux): apt-get install util-linux');
    process.exit(2);
  }
  if (os.cpus().length < 2) console.error('bench: warning: fewer than 2 CPUs, server and load generator will share a core');
}

/**
 * Start a server pinned to serverCpu. spec: { name, cmd: [file, ...args], cwd, env, ready: RegExp|string, nodeFlags }.
 * Returns { pid, stop() } where stop() sends SIGTERM (graceful: profiles get written) and waits for exit.
 */
async function startServer(spec, logDir) {
  const logf = createWriteStream(join(logDir, `server-${spec.name.replace(/\//g, '_')}.log`), { flags: 'a' });
  const child = spawn('taskset', ['-c', serverCpu, process.execPath, ...(spec.nodeFlags ?? []), ...spec.cmd],
    { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(logf, { end: false });
  let buf = '';
  let exited = false;
  const exitP = new Promise((r) => child.once('exit', (code, sig) => { exited = true; r({ code, sig }); }));
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${spec.name}: not ready in 30 s`)), 30_000);
    child.stdout.on('data', (d) => {
      logf.write(d);
      if (buf === null) return;
      buf += d;
      if (typeof spec.ready === 'string' ? buf.includes(spec.ready) : spec.ready.test(buf)) { clearTimeout(t); buf = null; res(); }
    });
    exitP.then(({ code, sig }) => { clearTimeout(t); rej(new Error(`${spec.name}: exited (${code ?? sig}) before ready; see ${logf.path}`)); });
  });
  const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
  if (comm !== 'node' && !comm.startsWith('node')) throw new Error(`pid ${child.pid} is ${comm}, not node`);
  return {
    pid: child.pid,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const r = await Promise.race([exitP, sleep(15_000).then(() => null)]);
        if (r === null) { child.kill('SIGKILL'); await exitP; }
      }
      logf.end();
    },
  };
}

// ------------------------------------------------------------------ main
const mcpbenchSrc = locateMcpbench();
checkTaskset();
const MCPBENCH = prepareMcpbench(mcpbenchSrc);

if (args.build !== false) {
  console.error('bench: npm run build ...');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (b.status !== 0) { console.error('bench: build failed'); process.exit(1); }
}
if (!existsSync(join(ROOT, OUR_SERVER.file))) { console.error(`bench: ${OUR_SERVER.file} missing (build first)`); process.exit(1); }

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + (args.profile ? '-profile' : '');
const outDir = resolve(ROOT, args.out ?? join('bench', 'results', stamp));
mkdirSync(outDir, { recursive: true });
const rawFile = join(outDir, 'raw.jsonl');
const log = (s) => { process.stderr.write(s + '\n'); appendFileSync(join(outDir, 'run.log'), s + '\n'); };

const pkgVersion = (dir, name) => { try { return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return undefined; } };
const gitRev = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
const gitDirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'plugins', 'routes']) ? ' (+ uncommitted changes)' : '';
const env = {
  date: new Date().toISOString(),
  cpu: os.cpus()[0]?.model, cpus: os.cpus().length, mem_gib: Math.round(os.totalmem() / 2 ** 30),
  kernel: os.release(), node: process.version,
  loadavg_start: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  server_cpu: serverCpu, client_cpu: clientCpu,
  rounds, duration, warmup, count, sessions, metrics, transports, extra_anchors: extraAnchors,
  our_server_env: { ...BENCH_AUTH, ...(args.defaultLimits ? {} : BENCH_LIMITS), ...serverEnv },
  compare: Object.fromEntries(transports.map((t) => [TRANSPORTS[t].transport, TRANSPORTS[t].anchor])),
  git: gitRev + gitDirty,
  mcpbench: mcpbenchSrc + (MCPBENCH !== mcpbenchSrc ? ` (run from ${MCPBENCH})` : ''),
  versions: {
    'realtime-mcp ws': pkgVersion(ROOT, 'ws'), 'realtime-mcp fastify': pkgVersion(ROOT, 'fastify'),
    'realtime-mcp @fastify/websocket': pkgVersion(ROOT, '@fastify/websocket'),
    'mcpbench ws': pkgVersion(MCPBENCH, 'ws'), 'mcpbench undici': pkgVersion(MCPBENCH, 'undici'),
    'mcpbench sdk': pkgVersion(MCPBENCH, '@modelcontextprotocol/sdk'),
  },
};
writeFileSync(join(outDir, 'env.json'), JSON.stringify(env, null, 2));
log(`out: ${outDir}\nenv: ${JSON.stringify(env)}`);

/** The servers of one transport: ours, its anchor, and any --extra-anchors. */
function serversFor(t) {
  const T = TRANSPORTS[t];
  return [
    {
      name: T.target, transport: T.transport, path: T.path, ours: true,
      spec: async (gc, extraFlags = []) => {
        const port = await freePort();
        return {
          port, name: T.target, cwd: ROOT, cmd: [OUR_SERVER.file],
          nodeFlags: [...(gc ? ['--expose-gc'] : []), ...extraFlags],
          env: { ...OUR_SERVER.env(port), ...(gc ? OUR_SERVER.gcEnv : {}) }, ready: OUR_SERVER.ready(port),
        };
      },
    },
    ...[...(withAnchor ? [T.anchor] : []), ...extraAnchors.filter((a) => ANCHORS[a].transport === T.transport && a !== T.anchor)].map((name) => ({
      name, transport: T.transport, path: ANCHORS[name].path, ours: false,
      spec: async (gc) => {
        const port = await freePort();
        return { port, name, cwd: MCPBENCH, cmd: [...ANCHORS[name].cmd, '--port', String(port)], nodeFlags: gc ? ['--expose-gc'] : [], env: {}, ready: /^READY /m };
      },
    })),
  ];
}

function runMcpbench(srv, port, pid, metric, label, override = []) {
  const [scenario, base] = METRIC_DEFS[metric];
  const extra = [...base, ...override]; // later flags win in mcpbench's parser
  const url = `${srv.transport === 'ws' ? 'ws' : 'http'}://127.0.0.1:${port}${srv.path}`;
  const auth = srv.ours && args.token ? ['--token', String(args.token)] : [];
  const argv = ['-c', clientCpu, process.execPath, 'mcpbench.mjs', scenario, '--transport', srv.transport, '--url', url, '--pid', String(pid), '--json', '--label', label, ...auth, ...extra];
  return new Promise((res) => {
    const child = spawn('taskset', argv, { cwd: MCPBENCH, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      let r;
      try { r = JSON.parse(out.trim().split('\n').pop()); } catch { r = { fatal: `mcpbench exit ${code}: ${err.trim().slice(-500)}` }; }
      log(`  ${err.trim().split('\n').join('\n  ')}`);
      res(r);
    });
  });
}

async function measure(srv, round, metricsHere, gc) {
  let server;
  try {
    const spec = await srv.spec(gc);
    server = await startServer(spec, outDir);
    for (const m of metricsHere) {
      const res = await runMcpbench(srv, spec.port, server.pid, m, `${srv.name}/${m}/r${round}`);
      appendFileSync(rawFile, JSON.stringify({ anchor: srv.name, target: srv.name, ours: srv.ours, transport: srv.transport, metric: m, round, ...res }) + '\n');
    }
  } catch (e) {
    log(`  ERROR ${e.message}`);
    for (const m of metricsHere) appendFileSync(rawFile, JSON.stringify({ anchor: srv.name, target: srv.name, ours: srv.ours, transport: srv.transport, metric: m, round, fatal: e.message }) + '\n');
  }
  await server?.stop();
}

if (args.profile) {
  await profileRun();
  process.exit(0);
}

const t0 = Date.now();
for (let r = 1; r <= rounds; r++) {
  for (const t of transports) {
    // Alternate who goes first, so slow drift in the machine's load does not always favour one side.
    const list = serversFor(t);
    if (r % 2 === 0) list.reverse();
    for (const srv of list) {
      log(`\n== round ${r}/${rounds}: ${srv.name} (${Math.round((Date.now() - t0) / 1000)} s)`);
      const busy = metrics.filter((m) => m !== 'idle');
      if (busy.length) await measure(srv, r, busy, false);
      if (metrics.includes('idle')) await measure(srv, r, ['idle'], true); // fresh server, --expose-gc
      await sleep(500);
    }
  }
}
env.loadavg_end = os.loadavg().map((x) => x.toFixed(2)).join(' ');
env.wall_s = Math.round((Date.now() - t0) / 1000);
writeFileSync(join(outDir, 'env.json'), JSON.stringify(env, null, 2));

const { summarize } = await import(join(BENCH_DIR, 'summarize.mjs'));
const md = summarize(rawFile, env);
writeFileSync(join(outDir, 'summary.md'), md);
process.stdout.write('\n' + md + '\n');
process.stdout.write(`\nraw results: ${rawFile}\n`);

// ------------------------------------------------------------------ --profile
/** One run of our server per metric under `node --cpu-prof`, then mcpbench's cpuprof-top on each profile. */
async function profileRun() {
  /** Frames whose inclusive time cpuprof-top reports (regexes over "function  file:line"). */
  const PROFILE_INCLUSIVE = [
    '^writev', 'garbage', '/dist/src/', 'websocket-transport', 'jsonrpc\\.js', 'dispatcher\\.js', 'runner\\.js',
    'operation\\.js', 'session\\.js', 'progress-rate', 'process-batch', '  ws/lib/receiver', '  ws/lib/sender',
    'typebox/', 'node:internal/modules|compileSourceTextModule|wrapSafe',
  ];
  for (const t of transports) {
    const [ours] = serversFor(t);
    for (const m of metrics.filter((x) => x !== 'idle')) {
      const dir = join(outDir, 'profiles', `${t}-${m}`);
      mkdirSync(dir, { recursive: true });
      log(`\n== profile: ${ours.name} ${m}`);
      const base = await ours.spec(false, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      let server;
      try {
        server = await startServer(base, outDir);
        // progress: 5 measured calls, so the steady state outweighs startup in the profile.
        const extra = m === 'progress' ? ['--repeat', '5'] : [];
        const res = await runMcpbench(ours, base.port, server.pid, m, `${ours.name}/${m}/profile`, extra);
        appendFileSync(rawFile, JSON.stringify({ anchor: ours.name, target: ours.name, ours: true, transport: t, metric: m, round: 0, profiled: true, ...res }) + '\n');
      } catch (e) { log(`  ERROR ${e.message}`); }
      await server?.stop();
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) { log(`  no .cpuprofile written in ${dir}`); continue; }
      const top = spawnSync(process.execPath, [join(MCPBENCH, 'tools', 'cpuprof-top.mjs'), join(dir, file), '--top', '30',
        ...PROFILE_INCLUSIVE.flatMap((re) => ['--inclusive', re])], { encoding: 'utf8' });
      writeFileSync(join(dir, 'top.txt'), top.stdout + top.stderr);
      log(`  profile: ${join(dir, file)}\n  top: ${join(dir, 'top.txt')}`);
      process.stdout.write(`\n### ${ours.name} ${m} (profiled)\n\n${top.stdout}\n`);
    }
  }
}
