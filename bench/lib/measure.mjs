// One measurement = one run of the load generator (bench/loadgen/main.mjs), pinned to the client CPU,
// against a URL; its JSON result line, or { fatal } when it failed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinned } from './processes.mjs';
import { cpuSince, cpuSnapshot } from './machine.mjs';

const LOADGEN = fileURLToPath(new URL('../loadgen/main.mjs', import.meta.url));

/** Load generator arguments of each metric (the definitions in bench/README.md). */
export function metricArgs(metric, cfg) {
  switch (metric) {
    case 'echo1': return ['echo', '--connections', '1', '--pipeline', '1', '--duration', String(cfg.duration), '--warmup', String(cfg.warmup)];
    case 'echo32': return ['echo', '--connections', '32', '--pipeline', '8', '--duration', String(cfg.duration), '--warmup', String(cfg.warmup)];
    case 'progress': return ['progress', '--count', String(cfg.count), '--repeat', '1', '--warmup-count', '1000'];
    case 'idle': return ['idle', '--sessions', String(cfg.sessions), '--open-concurrency', '64', '--settle', String(cfg.settle), '--gc-signal'];
    default: throw new Error(`unknown metric ${metric}`);
  }
}

const URL_SCHEME = { ws: 'ws', sse: 'http', streamable: 'http' };
export const urlFor = (transport, port, path) => `${URL_SCHEME[transport]}://127.0.0.1:${port}${path}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Both pinned CPUs below this share of busy time (over 1 s, everything counted) = quiet. */
const QUIET_BUSY_PCT = 20;

/**
 * With --wait-quiet S: waits up to S seconds for the server's and the client's CPUs to be quiet (other
 * work on a busy machine comes in bursts: builds, test suites). Returns the seconds waited and whether
 * it got quiet, recorded with the result.
 */
export async function waitQuiet(cfg, log) {
  if (!cfg.waitQuiet) return undefined;
  const t0 = Date.now();
  for (;;) {
    const start = cpuSnapshot();
    await sleep(1000);
    const now = cpuSince(start);
    const busy = Math.max(now[cfg.serverCpu]?.busy_pct ?? 0, now[cfg.clientCpu]?.busy_pct ?? 0);
    const waited = Math.round((Date.now() - t0) / 1000);
    if (busy < QUIET_BUSY_PCT) return { waited_s: waited, quiet: true };
    if (waited >= cfg.waitQuiet) { log(`  machine still busy (${busy}% on a bench CPU) after ${waited} s: measuring anyway`); return { waited_s: waited, quiet: false }; }
  }
}

/**
 * Runs one metric. target: { transport, url, pids: number[], token?, clientCpu? ('' = not pinned) }; extra: more loadgen arguments
 * (later ones win). log(line) gets the load generator's stderr.
 */
export async function runLoadgen(cfg, target, metric, label, extra, log) {
  const quiet = await waitQuiet(cfg, log);
  const res = await spawnLoadgen(cfg, target, metric, label, extra, log);
  return quiet ? { ...res, wait_quiet: quiet } : res;
}

function spawnLoadgen(cfg, target, metric, label, extra, log) {
  const argv = [
    process.execPath, LOADGEN, ...metricArgs(metric, cfg),
    '--transport', target.transport, '--url', target.url, '--pid', target.pids.join(','),
    '--watch-cpus', [cfg.serverCpu, cfg.clientCpu].join(','), '--label', label, '--json',
    ...(target.token ? ['--token', target.token] : []), ...extra,
  ];
  const [cmd, ...args] = pinned(target.clientCpu ?? cfg.clientCpu, argv);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (err.trim()) log(`  ${err.trim().split('\n').join('\n  ')}`);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        resolve({ fatal: `load generator exited (${code ?? signal}): ${err.trim().slice(-400)}` });
      }
    });
  });
}
