// What env.json records about the machine and the code measured, and how much of the run the
// hypervisor took away (steal) and other work used, per CPU.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export const sh = (cmd, args) => {
  try { return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim(); } catch (e) { return e.stderr?.toString().trim() || 'n/a'; }
};

const pkgVersion = (root, name) => { try { return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return undefined; } };

export function describeMachine(root) {
  const gitRev = sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'plugins', 'routes']);
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model, cpus: os.cpus().length, mem_gib: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(), node: process.version,
    loadavg_start: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    git: gitRev + (dirty && dirty !== 'n/a' ? ' (+ uncommitted changes)' : ''),
    versions: {
      ws: pkgVersion(root, 'ws'), undici: pkgVersion(root, 'undici'), '@modelcontextprotocol/sdk': pkgVersion(root, '@modelcontextprotocol/sdk'),
      fastify: pkgVersion(root, 'fastify'), '@fastify/websocket': pkgVersion(root, '@fastify/websocket'),
    },
  };
}

/** Versions of the external programs a comparison group uses (or why not). */
export const toolVersions = () => ({
  nginx: sh('nginx', ['-v']).replace(/^nginx version: /, ''),
  'redis-server': sh('redis-server', ['--version']).split(' ').find((w) => w.startsWith('v='))?.slice(2) ?? 'n/a',
  taskset: sh('taskset', ['--version']),
});

/** /proc/stat totals per CPU; stealSince(start) gives { cpu: {busy_pct, steal_pct} } since `start`. */
export function cpuSnapshot() {
  const out = {};
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = line.match(/^cpu(\d+) (.*)$/);
      if (!m) continue;
      const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].trim().split(/\s+/).map(Number);
      out[m[1]] = { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
    }
  } catch { /* not Linux */ }
  return out;
}

export function cpuSince(start) {
  const now = cpuSnapshot();
  const out = {};
  for (const cpu of Object.keys(now)) {
    if (!start[cpu]) continue;
    const total = now[cpu].total - start[cpu].total || 1;
    out[cpu] = { busy_pct: Math.round((now[cpu].busy - start[cpu].busy) / total * 1000) / 10, steal_pct: Math.round((now[cpu].steal - start[cpu].steal) / total * 1000) / 10 };
  }
  return out;
}
