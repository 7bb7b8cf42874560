#!/usr/bin/env node
// Markdown summary of a bench/results/<stamp>/raw.jsonl written by bench/run.mjs: medians over rounds,
// min–max, ratios to the anchor measured in the same run, and the targets of issue 3.
// usage: node bench/summarize.mjs bench/results/<stamp>/raw.jsonl
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Targets (issue 3), as ratios to the anchor of the same run, per transport. */
const TARGETS = {
  ws: {
    echo32: { min: 0.5, stretch: 1.0 },
    progress: { min: 0.6, firstMs: 5, lost: 0 },
    idle: { max: 3 },
  },
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

export function summarize(rawFile, env = {}) {
  const rows = readFileSync(rawFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => !r.profiled);
  const byKey = new Map();
  const servers = new Map(); // transport -> { ours: [names], anchors: [names] }
  for (const r of rows) {
    const k = `${r.target}|${r.metric}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(r);
    const s = servers.get(r.transport) ?? { ours: new Set(), anchors: new Set() };
    (r.ours ? s.ours : s.anchors).add(r.target);
    servers.set(r.transport, s);
  }
  const ok = (name, metric) => (byKey.get(`${name}|${metric}`) ?? []).filter((r) => !r.fatal);
  const M = (name, metric, path) => med(ok(name, metric).map((r) => get(r, path)));
  const range = (name, metric, path, f = (x) => fmt(x)) => {
    const xs = ok(name, metric).map((r) => get(r, path)).filter((x) => typeof x === 'number');
    return xs.length ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : 'n/a';
  };
  const n = (name, metric) => ok(name, metric).length;

  const L = [];
  L.push(`Machine: ${env.cpu ?? '?'}, ${env.cpus ?? '?'} CPUs, ${env.mem_gib ?? '?'} GiB, Linux ${env.kernel ?? '?'}, Node ${env.node ?? '?'}. ` +
    `Date: ${env.date?.slice(0, 10) ?? '?'}. Commit ${env.git ?? '?'}. Load average at start ${env.loadavg_start ?? '?'}${env.loadavg_end ? `, at end ${env.loadavg_end}` : ''}.`);
  L.push('');
  L.push(`Medians of ${env.rounds ?? '?'} interleaved rounds (min–max in brackets or in the range column). Servers pinned to CPU ${env.server_cpu ?? 0}, ` +
    `mcpbench to CPU ${env.client_cpu ?? 1} (taskset). Ratios compare with the anchor measured in the same run. ` +
    `Client CPU above ${CLIENT_CPU_FLAG}% is flagged ⚠: that figure is partly bounded by the load generator.`);

  for (const [transport, s] of servers) {
    const anchorName = env.compare?.[transport] ?? [...s.anchors][0];
    const names = [...s.ours, ...s.anchors];
    const extras = [...s.anchors].filter((x) => x !== anchorName);
    const T = TARGETS[transport];
    L.push('');
    L.push(`## Transport ${transport}: ${[...s.ours].join(', ')} vs ${anchorName ?? '(no anchor)'}`);
    for (const ours of s.ours) {
      const rt = (metric, path) => ratio(M(ours, metric, path), anchorName ? M(anchorName, metric, path) : null);
      const line = (label, metric, path, f, target) => {
        const v = M(ours, metric, path);
        const a = anchorName ? M(anchorName, metric, path) : null;
        const more = extras.map((x) => ` ${f(M(x, metric, path))} | ${fr(ratio(v, M(x, metric, path)))} |`).join('');
        L.push(`| ${label} | ${f(v)} (${range(ours, metric, path, f)}) | ${f(a)} (${anchorName ? range(anchorName, metric, path, f) : 'n/a'}) | ${fr(ratio(v, a))} | ${target ?? ''} |${more}`);
      };
      L.push('');
      L.push(`### ${ours}: ratios to ${anchorName}`);
      L.push('');
      L.push(`| figure | ${ours} | ${anchorName} | ratio | target (issue 3) |${extras.map((x) => ` ${x} | x ${x} |`).join('')}`);
      L.push(`|---|---:|---:|---:|---|${extras.map(() => '---:|---:|').join('')}`);
      const pass = (cond) => (cond == null ? '' : cond ? ' ✅' : ' ❌');
      if (n(ours, 'echo1')) {
        line('echo 1×1 p50 latency, ms (lower is better)', 'echo1', 'latency_ms.p50', (x) => fmt(x, 3), '(reported, no target)');
        line('echo 1×1 calls/s', 'echo1', 'calls_per_s', (x) => fmt(x));
      }
      if (n(ours, 'echo32')) {
        const r = rt('echo32', 'calls_per_s');
        line('echo 32×8 calls/s', 'echo32', 'calls_per_s', (x) => fmt(x),
          T?.echo32 && r != null ? `≥ ${T.echo32.min}×${pass(r >= T.echo32.min)} (stretch ≥ ${T.echo32.stretch}×${pass(r >= T.echo32.stretch)})` : '');
        line('echo 32×8 p99 latency, ms', 'echo32', 'latency_ms.p99', (x) => fmt(x, 2));
      }
      if (n(ours, 'progress')) {
        const r = rt('progress', 'notifications_per_s');
        const first = M(ours, 'progress', 'time_to_first_ms');
        const lost = med(ok(ours, 'progress').map((x) => x.lost_notifications));
        const maxLost = Math.max(0, ...ok(ours, 'progress').map((x) => x.lost_notifications ?? 0));
        line(`progress ${fmt(env.count ?? 100000)} notifications/s`, 'progress', 'notifications_per_s', (x) => fmt(x), T?.progress && r != null ? `≥ ${T.progress.min}×${pass(r >= T.progress.min)}` : '');
        line('progress time to first, ms', 'progress', 'time_to_first_ms', (x) => fmt(x, 1), T?.progress && first != null ? `≤ ${T.progress.firstMs} ms${pass(first <= T.progress.firstMs)}` : '');
        line('progress lost notifications', 'progress', 'lost_notifications', (x) => fmt(x), T?.progress && lost != null ? `${T.progress.lost} in every round${pass(maxLost === 0)}` : '');
      }
      if (n(ours, 'idle')) {
        const r = rt('idle', 'bytes_per_session');
        line(`idle KiB/session (${fmt(env.sessions ?? 2000)} sessions, after GC)`, 'idle', 'bytes_per_session', kib, T?.idle && r != null ? `≤ ${T.idle.max}×${pass(r <= T.idle.max)}` : '');
      }
    }

    if (names.some((a) => n(a, 'echo1'))) {
      L.push('');
      L.push('#### Echo latency: 1 connection, pipeline 1 (tools/call echo, ~100-byte message)');
      L.push('');
      L.push('| server | calls/s | p50 ms | p90 ms | p99 ms | errors | server CPU % | client CPU % | range calls/s | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${fmt(M(a, 'echo1', 'calls_per_s'))} | ${fmt(M(a, 'echo1', 'latency_ms.p50'), 3)} | ${fmt(M(a, 'echo1', 'latency_ms.p90'), 3)} | ${fmt(M(a, 'echo1', 'latency_ms.p99'), 3)} | ${fmt(M(a, 'echo1', 'errors'))} | ${fmt(M(a, 'echo1', 'server_cpu_pct'))} | ${cpu(M(a, 'echo1', 'client_cpu_pct'))} | ${range(a, 'echo1', 'calls_per_s')} | ${n(a, 'echo1')} |`);
      }
    }
    if (names.some((a) => n(a, 'echo32'))) {
      L.push('');
      L.push('#### Echo throughput: 32 connections × pipeline 8 (256 calls in flight)');
      L.push('');
      L.push('| server | calls/s | p50 ms | p90 ms | p99 ms | errors | server CPU % | client CPU % | server RSS MiB | range calls/s | runs (contended) |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        const contended = ok(a, 'echo32').filter((r) => r.server_cpu_pct != null && r.server_cpu_pct < CONTENDED_CPU).length;
        L.push(`| ${a} | ${fmt(M(a, 'echo32', 'calls_per_s'))} | ${fmt(M(a, 'echo32', 'latency_ms.p50'), 2)} | ${fmt(M(a, 'echo32', 'latency_ms.p90'), 2)} | ${fmt(M(a, 'echo32', 'latency_ms.p99'), 2)} | ${fmt(M(a, 'echo32', 'errors'))} | ${fmt(M(a, 'echo32', 'server_cpu_pct'))} | ${cpu(M(a, 'echo32', 'client_cpu_pct'))} | ${mib(M(a, 'echo32', 'server_rss_bytes'))} | ${range(a, 'echo32', 'calls_per_s')} | ${n(a, 'echo32')} (${contended}) |`);
      }
      L.push('');
      L.push(`"contended": rounds in which the server used less than ${CONTENDED_CPU}% of its core although 256 calls were in flight, i.e. something else ran on that core.`);
    }
    if (names.some((a) => n(a, 'progress'))) {
      L.push('');
      L.push(`#### Progress: process_batch count=${fmt(env.count ?? 100000)}, delayMs 0, one call with a progressToken`);
      L.push('');
      L.push('| server | notifications/s | time to first ms | time to result ms | lost | out of order | server VmHWM MiB | server CPU % | client CPU % | range notif/s | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${fmt(M(a, 'progress', 'notifications_per_s'))} | ${fmt(M(a, 'progress', 'time_to_first_ms'), 1)} | ${fmt(M(a, 'progress', 'time_to_result_ms'))} | ${fmt(M(a, 'progress', 'lost_notifications'))} | ${fmt(M(a, 'progress', 'runs.0.per_session.0.out_of_order'))} | ${mib(M(a, 'progress', 'server_hwm_bytes'))} | ${fmt(M(a, 'progress', 'runs.0.server_cpu_pct'))} | ${cpu(M(a, 'progress', 'runs.0.client_cpu_pct'))} | ${range(a, 'progress', 'notifications_per_s')} | ${n(a, 'progress')} |`);
      }
    }
    if (names.some((a) => n(a, 'idle'))) {
      L.push('');
      L.push(`#### Idle sessions: ${fmt(env.sessions ?? 2000)} sessions opened and left idle (fresh server, --expose-gc, GC before each RSS reading)`);
      L.push('');
      L.push('| server | KiB/session (after GC) | KiB/session (no GC) | sessions opened/s | RSS before → after MiB | RSS after close MiB | failed | ping ok | range KiB/session | runs |');
      L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const a of names) {
        L.push(`| ${a} | ${kib(M(a, 'idle', 'bytes_per_session'))} | ${kib(M(a, 'idle', 'bytes_per_session_nogc'))} | ${fmt(M(a, 'idle', 'sessions_per_s'))} | ${mib(M(a, 'idle', 'rss_before'))} → ${mib(M(a, 'idle', 'rss_after'))} | ${mib(M(a, 'idle', 'rss_after_close'))} | ${fmt(M(a, 'idle', 'sessions_failed'))} | ${fmt(M(a, 'idle', 'ping_ok'))}/${fmt(M(a, 'idle', 'ping_sample'))} | ${range(a, 'idle', 'bytes_per_session', kib)} | ${n(a, 'idle')} |`);
      }
    }
    const fatals = rows.filter((r) => r.transport === transport && r.fatal).map((r) => `- ${r.target} ${r.metric} round ${r.round}: ${r.fatal}`);
    const errs = rows.filter((r) => r.transport === transport && !r.fatal && r.error_samples?.length).map((r) => `- ${r.target} ${r.metric} round ${r.round}: ${r.error_samples.join(' | ')}`);
    if (fatals.length || errs.length) { L.push(''); L.push('Failures and error samples:'); L.push(...fatals, ...errs); }
  }
  return L.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) { console.error('usage: node bench/summarize.mjs bench/results/<stamp>/raw.jsonl'); process.exit(2); }
  let env = {};
  try { env = JSON.parse(readFileSync(file.replace(/raw\.jsonl$/, 'env.json'), 'utf8')); } catch { /* none */ }
  process.stdout.write(summarize(file, env) + '\n');
}
