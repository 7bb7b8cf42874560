#!/usr/bin/env node
// Markdown summary of a bench/results/<stamp>/raw.jsonl written by bench/run.mjs: medians over rounds,
// min–max, ratios to the anchor (or baseline) measured in the same run, and the targets.
// usage: node bench/summarize.mjs bench/results/<stamp>/raw.jsonl
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Targets as ratios to the anchor of the same run, per transport (ws: issue 3; HTTP: performance-anchors notes). */
const TARGETS = {
  ws: {
    echo32: { min: 0.5, stretch: 1.0 },
    progress: { min: 0.6, firstMs: 5, lost: 0 },
    idle: { max: 3 },
  },
  sse: { echo32: { min: 1.0 }, progress: { min: 1.0, lost: 0 } },
  streamable: { echo32: { min: 1.0 }, progress: { min: 1.0, lost: 0 } },
};

const CLIENT_CPU_FLAG = 80;
/** At 32×8 a server should saturate its core; below this it was sharing the core with other work. */
const CONTENDED_CPU = 80;

const med = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const get = (o, path) => path.split('.').reduce((x, k) => (x == null ? undefined : x[k]), o);
const fmt = (x, d = 0) => (x == null ? 'n/a' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const kib = (b) => (b == null ? 'n/a' : (b / 1024).toFixed(1));
const mib = (b) => (b == null ? 'n/a' : (b / 2 ** 20).toFixed(0));
const ratio = (v, r) => (v == null || r == null || r === 0 ? null : v / r);
const fr = (x) => (x == null ? 'n/a' : x.toFixed(2));
const cpu = (x) => (x == null ? 'n/a' : x > CLIENT_CPU_FLAG ? `**${fmt(x)}** ⚠` : fmt(x));

/** Rows of one group, indexed by target and metric, with median/range helpers. */
function table(rows) {
  const byKey = new Map();
  for (const r of rows) {
    const k = `${r.target}|${r.metric}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(r);
  }
  const ok = (name, metric) => (byKey.get(`${name}|${metric}`) ?? []).filter((r) => !r.fatal);
  const values = (name, metric, path) => ok(name, metric).map((r) => (typeof path === 'function' ? path(r) : get(r, path)));
  return {
    ok,
    n: (name, metric) => ok(name, metric).length,
    M: (name, metric, path) => med(values(name, metric, path)),
    range: (name, metric, path, f = (x) => fmt(x)) => {
      const xs = values(name, metric, path).filter((x) => typeof x === 'number' && Number.isFinite(x));
      return xs.length ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : 'n/a';
    },
  };
}

/** CPU% that something other than the measured server used on the server's core (busy − server). */
const otherLoad = (serverCpu) => (r) => {
  const busy = r.cpus?.[serverCpu]?.busy_pct;
  return busy == null || r.server_cpu_pct == null ? undefined : Math.max(0, busy - r.server_cpu_pct);
};
const steal = (c) => (r) => r.cpus?.[c]?.steal_pct;
/** Work done per second of server CPU: less sensitive than raw throughput to other work on the core. */
const perCpuSecond = (path) => (r) => {
  const v = get(r, path);
  return v == null || !r.server_cpu_pct ? undefined : v / (r.server_cpu_pct / 100);
};
/** Median share of the server's core that other processes used during the measurements, and the max. */
function contention(rows, serverCpu) {
  // Unpinned measurements (the `cluster` group) have no server core to speak of.
  const xs = rows.filter((r) => !r.fatal && r.metric !== 'idle' && r.pinned !== false).map(otherLoad(serverCpu)).filter((x) => typeof x === 'number');
  return xs.length ? { median: med(xs), max: Math.max(...xs) } : null;
}
const CONTENTION_FLAG = 15;

function failures(L, rows) {
  const fatals = rows.filter((r) => r.fatal).map((r) => `- ${r.target} ${r.metric} round ${r.round}: ${r.fatal}`);
  const distinct = (xs) => [...new Set(xs)].map((x) => `${x}${xs.filter((y) => y === x).length > 1 ? ` (×${xs.filter((y) => y === x).length} in the samples)` : ''}`);
  const errs = rows.filter((r) => !r.fatal && r.error_samples?.length).map((r) => `- ${r.target} ${r.metric} round ${r.round}: ${r.errors ?? '?'} errors, e.g. ${distinct(r.error_samples).join(' | ')}`);
  if (fatals.length || errs.length) { L.push('', 'Failures and error samples:', ...fatals, ...errs); }
}

function anchorsSection(L, rows, env) {
  const servers = new Map(); // transport -> { ours: Set, anchors: Set }
  for (const r of rows) {
    const s = servers.get(r.transport) ?? { ours: new Set(), anchors: new Set() };
    (r.ours ? s.ours : s.anchors).add(r.target);
    servers.set(r.transport, s);
  }
  const { ok, n, M, range } = table(rows);
  const sc = String(env.server_cpu ?? 0);
  for (const [transport, s] of servers) {
    const anchorName = env.compare?.[transport] ?? [...s.anchors][0];
    const names = [...s.ours, ...s.anchors];
    const extras = [...s.anchors].filter((x) => x !== anchorName);
    const T = TARGETS[transport];
    L.push('', `## Transport ${transport}: ${[...s.ours].join(', ')} vs ${anchorName ?? '(no anchor)'}`);
    for (const ours of s.ours) {
      const rt = (metric, path) => ratio(M(ours, metric, path), anchorName ? M(anchorName, metric, path) : null);
      const pass = (cond) => (cond == null ? '' : cond ? ' ✅' : ' ❌');
      const line = (label, metric, path, f, target) => {
        const v = M(ours, metric, path);
        const a = anchorName ? M(anchorName, metric, path) : null;
        const more = extras.map((x) => ` ${f(M(x, metric, path))} | ${fr(ratio(v, M(x, metric, path)))} |`).join('');
        L.push(`| ${label} | ${f(v)} (${range(ours, metric, path, f)}) | ${f(a)} (${anchorName ? range(anchorName, metric, path, f) : 'n/a'}) | ${fr(ratio(v, a))} | ${target ?? ''} |${more}`);
      };
      L.push('', `### ${ours}: ratios to ${anchorName}`, '');
      L.push(`| figure | ${ours} | ${anchorName} | ratio | target |${extras.map((x) => ` ${x} | x ${x} |`).join('')}`);
      L.push(`|---|---:|---:|---:|---|${extras.map(() => '---:|---:|').join('')}`);
      if (n(ours, 'echo1')) {
        line('echo 1×1 p50 latency, ms (lower is better)', 'echo1', 'latency_ms.p50', (x) => fmt(x, 3), '(reported, no target)');
        line('echo 1×1 calls/s', 'echo1', 'calls_per_s', (x) => fmt(x));
      }
      if (n(ours, 'echo32')) {
        const r = rt('echo32', 'calls_per_s');
        const tgt = T?.echo32 && r != null ? `≥ ${T.echo32.min}×${pass(r >= T.echo32.min)}${T.echo32.stretch ? ` (stretch ≥ ${T.echo32.stretch}×${pass(r >= T.echo32.stretch)})` : ''}` : '';
        line('echo 32×8 calls/s', 'echo32', 'calls_per_s', (x) => fmt(x), tgt);
        line('echo 32×8 calls per server CPU-second', 'echo32', perCpuSecond('calls_per_s'), (x) => fmt(x), '(efficiency, reported)');
        line('echo 32×8 p99 latency, ms', 'echo32', 'latency_ms.p99', (x) => fmt(x, 2));
      }
      if (n(ours, 'progress')) {
        const r = rt('progress', 'notifications_per_s');
        const first = M(ours, 'progress', 'time_to_first_ms');
        const lost = med(ok(ours, 'progress').map((x) => x.lost_notifications));
        const maxLost = Math.max(0, ...ok(ours, 'progress').map((x) => x.lost_notifications ?? 0));
        line(`progress ${fmt(env.count ?? 100000)} notifications/s`, 'progress', 'notifications_per_s', (x) => fmt(x), T?.progress && r != null ? `≥ ${T.progress.min}×${pass(r >= T.progress.min)}` : '');
        line('progress notifications per server CPU-second', 'progress', perCpuSecond('notifications_per_s'), (x) => fmt(x), '(efficiency, reported)');
        line('progress time to first, ms', 'progress', 'time_to_first_ms', (x) => fmt(x, 1), T?.progress?.firstMs && first != null ? `≤ ${T.progress.firstMs} ms${pass(first <= T.progress.firstMs)}` : '');
        line('progress lost notifications', 'progress', 'lost_notifications', (x) => fmt(x), T?.progress && lost != null ? `${T.progress.lost} in every round${pass(maxLost === 0)}` : '');
      }
      if (n(ours, 'idle')) {
        const r = rt('idle', 'bytes_per_session');
        line(`idle KiB/session (${fmt(env.sessions ?? 2000)} sessions, after GC)`, 'idle', 'bytes_per_session', kib, T?.idle && r != null ? `≤ ${T.idle.max}×${pass(r <= T.idle.max)}` : '');
      }
    }

    if (names.some((a) => n(a, 'echo1'))) {
      L.push('', '#### Echo latency: 1 connection, pipeline 1 (tools/call echo, 100-byte message)', '');
      L.push('| server | calls/s | p50 ms | p90 ms | p99 ms | errors | server CPU % | client CPU % | other work on server CPU % | range calls/s | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${fmt(M(a, 'echo1', 'calls_per_s'))} | ${fmt(M(a, 'echo1', 'latency_ms.p50'), 3)} | ${fmt(M(a, 'echo1', 'latency_ms.p90'), 3)} | ${fmt(M(a, 'echo1', 'latency_ms.p99'), 3)} | ${fmt(M(a, 'echo1', 'errors'))} | ${fmt(M(a, 'echo1', 'server_cpu_pct'))} | ${cpu(M(a, 'echo1', 'client_cpu_pct'))} | ${fmt(M(a, 'echo1', otherLoad(sc)))} | ${range(a, 'echo1', 'calls_per_s')} | ${n(a, 'echo1')} |`);
      }
    }
    if (names.some((a) => n(a, 'echo32'))) {
      L.push('', '#### Echo throughput: 32 connections × pipeline 8 (256 calls in flight)', '');
      L.push('| server | calls/s | per server CPU-s | p50 ms | p90 ms | p99 ms | errors | server CPU % | client CPU % | other work on server CPU % | steal % | server RSS MiB | range calls/s | runs (contended) |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        const contended = ok(a, 'echo32').filter((r) => r.server_cpu_pct != null && r.server_cpu_pct < CONTENDED_CPU).length;
        L.push(`| ${a} | ${fmt(M(a, 'echo32', 'calls_per_s'))} | ${fmt(M(a, 'echo32', perCpuSecond('calls_per_s')))} | ${fmt(M(a, 'echo32', 'latency_ms.p50'), 2)} | ${fmt(M(a, 'echo32', 'latency_ms.p90'), 2)} | ${fmt(M(a, 'echo32', 'latency_ms.p99'), 2)} | ${fmt(M(a, 'echo32', 'errors'))} | ${fmt(M(a, 'echo32', 'server_cpu_pct'))} | ${cpu(M(a, 'echo32', 'client_cpu_pct'))} | ${fmt(M(a, 'echo32', otherLoad(sc)))} | ${fmt(M(a, 'echo32', steal(sc)), 1)} | ${mib(M(a, 'echo32', 'server_rss_bytes'))} | ${range(a, 'echo32', 'calls_per_s')} | ${n(a, 'echo32')} (${contended}) |`);
      }
      L.push('', `"contended": rounds in which the server used less than ${CONTENDED_CPU}% of its core although 256 calls were in flight. "other work": what else ran on the server's core (from /proc/stat, softirq included); "steal": time the hypervisor gave to other guests.`);
    }
    if (names.some((a) => n(a, 'progress'))) {
      L.push('', `#### Progress: process_batch count=${fmt(env.count ?? 100000)}, delayMs 0, one call with a progressToken`, '');
      L.push('| server | notifications/s | per server CPU-s | time to first ms | time to result ms | lost | after result | out of order | server VmHWM MiB | server CPU % | client CPU % | other work on server CPU % | range notif/s | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${fmt(M(a, 'progress', 'notifications_per_s'))} | ${fmt(M(a, 'progress', perCpuSecond('notifications_per_s')))} | ${fmt(M(a, 'progress', 'time_to_first_ms'), 1)} | ${fmt(M(a, 'progress', 'time_to_result_ms'))} | ${fmt(M(a, 'progress', 'lost_notifications'))} | ${fmt(M(a, 'progress', 'notifications_after_result'))} | ${fmt(M(a, 'progress', 'out_of_order'))} | ${mib(M(a, 'progress', 'server_hwm_bytes'))} | ${fmt(M(a, 'progress', 'server_cpu_pct'))} | ${cpu(M(a, 'progress', 'client_cpu_pct'))} | ${fmt(M(a, 'progress', otherLoad(sc)))} | ${range(a, 'progress', 'notifications_per_s')} | ${n(a, 'progress')} |`);
      }
    }
    if (names.some((a) => n(a, 'idle'))) {
      L.push('', `#### Idle sessions: ${fmt(env.sessions ?? 2000)} sessions opened 64 at a time and left idle (fresh server, --expose-gc, GC before each RSS reading; HTTP sessions keep their GET SSE stream)`, '');
      L.push('| server | KiB/session (after GC) | KiB/session (no GC) | sessions opened/s | RSS before → after MiB | RSS after close MiB | failed | ping ok | range KiB/session | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${kib(M(a, 'idle', 'bytes_per_session'))} | ${kib(M(a, 'idle', 'bytes_per_session_nogc'))} | ${fmt(M(a, 'idle', 'sessions_per_s'))} | ${mib(M(a, 'idle', 'rss_before'))} → ${mib(M(a, 'idle', 'rss_after'))} | ${mib(M(a, 'idle', 'rss_after_close'))} | ${fmt(M(a, 'idle', 'sessions_failed'))} | ${fmt(M(a, 'idle', 'ping_ok'))}/${fmt(M(a, 'idle', 'ping_sample'))} | ${range(a, 'idle', 'bytes_per_session', kib)} | ${n(a, 'idle')} |`);
      }
    }
    failures(L, rows.filter((r) => r.transport === transport));
  }
}

/** The figures a comparison group reports, per metric: [label, path, format, lower is better]. */
const FIGURES = {
  echo1: [['echo 1×1 p50 latency, ms', 'latency_ms.p50', (x) => fmt(x, 3), true], ['echo 1×1 calls/s', 'calls_per_s', (x) => fmt(x)]],
  echo32: [['echo 32×8 calls/s', 'calls_per_s', (x) => fmt(x)], ['echo 32×8 calls per server-side CPU-second', perCpuSecond('calls_per_s'), (x) => fmt(x)], ['echo 32×8 p99 latency, ms', 'latency_ms.p99', (x) => fmt(x, 2), true],
    ['echo 32×8 server-side CPU %', 'server_cpu_pct', (x) => fmt(x), true], ['echo 32×8 client CPU %', 'client_cpu_pct', cpu, true], ['echo 32×8 errors', 'errors', (x) => fmt(x), true]],
  progress: [['progress notifications/s', 'notifications_per_s', (x) => fmt(x)], ['progress notifications per server-side CPU-second', perCpuSecond('notifications_per_s'), (x) => fmt(x)], ['progress time to first, ms', 'time_to_first_ms', (x) => fmt(x, 1), true],
    ['progress time to result, ms', 'time_to_result_ms', (x) => fmt(x), true], ['progress lost notifications', 'lost_notifications', (x) => fmt(x), true]],
};

function compareSection(L, name, rows, meta) {
  const targets = [...new Set(rows.map((r) => r.target))];
  const base = meta?.baseline && targets.includes(meta.baseline) ? meta.baseline : targets[0];
  const others = targets.filter((t) => t !== base);
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const { n, M, range } = table(rows);
  L.push('', `## Comparison ${name}: ${meta?.title ?? ''}`, '');
  L.push(`| figure | ${base} |${others.map((o) => ` ${o} | ratio ${o} ÷ ${base} |`).join('')} runs |`);
  L.push(`|---|---:|${others.map(() => '---:|---:|').join('')}---:|`);
  for (const m of metrics) {
    for (const [label, path, f] of FIGURES[m] ?? []) {
      const b = M(base, m, path);
      L.push(`| ${label} | ${f(b)} (${range(base, m, path, f)}) |${others.map((o) => ` ${f(M(o, m, path))} (${range(o, m, path, f)}) | ${fr(ratio(M(o, m, path), b))} |`).join('')} ${[base, ...others].map((t) => n(t, m)).join('/')} |`);
    }
  }
  failures(L, rows);
}

export function summarize(rawFile, env = {}) {
  const all = readFileSync(rawFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => !r.profiled);
  // Each comparison group writes one header row ({ group, title, baseline, header: true }) first.
  const titles = Object.fromEntries(all.filter((r) => r.header).map((r) => [r.group, r]));
  const L = [];
  L.push(`Machine: ${env.cpu ?? '?'}, ${env.cpus ?? '?'} CPUs, ${env.mem_gib ?? '?'} GiB, Linux ${env.kernel ?? '?'}, Node ${env.node ?? '?'}. ` +
    `Date: ${env.date?.slice(0, 10) ?? '?'}. Commit ${env.git ?? '?'}. Load average at start ${env.loadavg_start ?? '?'}${env.loadavg_end ? `, at end ${env.loadavg_end}` : ''}.`);
  const during = env.cpu_during_run;
  if (during) L.push('', `During the run: ${Object.entries(during).map(([c, v]) => `CPU ${c} ${v.busy_pct}% busy, ${v.steal_pct}% steal`).join('; ')} (all processes).`);
  L.push('', `Medians of ${env.rounds ?? '?'} interleaved rounds (min–max in brackets or in the range column)${env.quick ? ', --quick settings (short runs: a smoke check, not a measurement)' : ''}. ` +
    `Servers pinned to CPU ${env.server_cpu ?? 0}, the load generator (bench/loadgen) to CPU ${env.client_cpu ?? 1}${env.pinned === false ? ' (NOT pinned: taskset missing)' : ''}${env.groups?.includes('cluster') ? ', except in the `cluster` group (nothing pinned there, see its title)' : ''}. ` +
    `Ratios compare with the anchor or baseline measured in the same run. Client CPU above ${CLIENT_CPU_FLAG}% is flagged ⚠: that figure is partly bounded by the load generator.`);

  const groupOf = (r) => r.group ?? 'anchors';
  const skipped = all.filter((r) => r.skipped);
  const rows = all.filter((r) => !r.skipped && !r.header);
  const busy = contention(rows, String(env.server_cpu ?? 0));
  const waits = rows.filter((r) => r.wait_quiet);
  if (waits.length) {
    L.push('', `--wait-quiet ${env.wait_quiet} s: ${waits.filter((r) => r.wait_quiet.quiet).length} of ${waits.length} measurements started on quiet CPUs, after ${fmt(waits.reduce((a, r) => a + r.wait_quiet.waited_s, 0))} s of waiting in all.`);
  }
  if (busy && busy.median > CONTENTION_FLAG) {
    L.push('', `⚠ **The machine was busy with other work**: other processes used a median ${fmt(busy.median)}% (up to ${fmt(busy.max)}%) of the server's core during the measurements. ` +
      'Throughput, latency and their ratios are unreliable; the "per server CPU-second" figures are the better guide. Rerun on a quiet machine, or with `--wait-quiet 60`.');
  }
  const anchorRows = rows.filter((r) => groupOf(r) === 'anchors');
  if (anchorRows.length) anchorsSection(L, anchorRows, env);
  for (const name of [...new Set(rows.map(groupOf))].filter((g) => g !== 'anchors')) {
    compareSection(L, name, rows.filter((r) => groupOf(r) === name), titles[name]);
  }
  for (const s of skipped) L.push('', `## Comparison ${s.group}: ${s.title ?? ''}`, '', `skipped: ${s.skipped}`);
  return L.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) { console.error('usage: node bench/summarize.mjs bench/results/<stamp>/raw.jsonl'); process.exit(2); }
  let env = {};
  try { env = JSON.parse(readFileSync(file.replace(/raw\.jsonl$/, 'env.json'), 'utf8')); } catch { /* none */ }
  process.stdout.write(summarize(file, env) + '\n');
}
