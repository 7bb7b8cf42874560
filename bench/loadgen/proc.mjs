// What the load generator reads about the server and itself: RSS from /proc/<pid>/status, CPU time from
// /proc/<pid>/stat (several pids are summed: a cluster is several processes), its own CPU from
// process.cpuUsage().
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond = 100;
try { ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch { /* keep 100 */ }

function statusKiB(status, key) {
  const at = status.indexOf(`\n${key}:`);
  if (at < 0) return null;
  return Number.parseInt(status.slice(at + key.length + 2).trimStart(), 10);
}

/** { rss, hwm } in bytes, summed over pids, or null when no pid is readable. */
export function memoryOf(pids) {
  let rss = 0, hwm = 0, seen = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += (statusKiB(s, 'VmRSS') ?? 0) * 1024;
      hwm += (statusKiB(s, 'VmHWM') ?? 0) * 1024;
      seen++;
    } catch { /* gone */ }
  }
  return seen ? { rss, hwm } : null;
}

/** utime + stime in seconds, summed over pids, or null. */
export function cpuSecondsOf(pids) {
  let total = 0, seen = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
      total += (Number(f[11]) + Number(f[12])) / ticksPerSecond;
      seen++;
    } catch { /* gone */ }
  }
  return seen ? total : null;
}

/** Per-CPU tick counters from /proc/stat: { [cpu]: { busy, steal, total } }. */
function cpuTicks(cpus) {
  const out = {};
  if (!cpus.length) return out;
  let text;
  try { text = readFileSync('/proc/stat', 'utf8'); } catch { return out; }
  for (const cpu of cpus) {
    const m = text.match(new RegExp(`^cpu${cpu} (.*)$`, 'm'));
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[1].trim().split(/\s+/).map(Number);
    out[cpu] = { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  }
  return out;
}

/**
 * Starts a CPU meter; stop() returns { server_cpu_pct, client_cpu_pct, cpus } over the interval.
 * cpus (for watchCpus, e.g. the server's and the client's pinned CPUs): busy_pct = everything that ran
 * there (any process, softirq included), steal_pct = time the hypervisor gave to someone else. On a
 * busy machine, busy − our process's CPU shows the other work on that core.
 */
export function cpuMeter(pids, watchCpus = []) {
  const t0 = performance.now();
  const s0 = cpuSecondsOf(pids);
  const c0 = process.cpuUsage();
  const k0 = cpuTicks(watchCpus);
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const s1 = cpuSecondsOf(pids);
    const c = process.cpuUsage(c0);
    const k1 = cpuTicks(watchCpus);
    const cpus = {};
    for (const cpu of Object.keys(k1)) {
      if (!k0[cpu]) continue;
      const total = k1[cpu].total - k0[cpu].total || 1;
      cpus[cpu] = { busy_pct: round((k1[cpu].busy - k0[cpu].busy) / total * 100, 1), steal_pct: round((k1[cpu].steal - k0[cpu].steal) / total * 100, 1) };
    }
    return {
      server_cpu_pct: s0 === null || s1 === null ? null : round((s1 - s0) / secs * 100, 1),
      client_cpu_pct: round((c.user + c.system) / 1e6 / secs * 100, 1),
      cpus,
    };
  };
}

export const round = (x, d = 3) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
