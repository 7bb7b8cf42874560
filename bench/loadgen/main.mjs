#!/usr/bin/env node
// The bench's load generator: MCP clients for WebSocket, legacy HTTP+SSE and Streamable HTTP written
// for this repository (ws + undici, no MCP SDK in the hot path), and the three scenarios of
// bench/README.md. Prints one JSON result line on stdout with --json; a short summary on stderr.
import { parseOptions, USAGE } from './options.mjs';
import { runEcho } from './scenario-echo.mjs';
import { runProgress } from './scenario-progress.mjs';
import { runIdle } from './scenario-idle.mjs';

const SCENARIOS = { echo: runEcho, progress: runProgress, idle: runIdle };

let o;
try { o = parseOptions(process.argv.slice(2)); } catch (e) { console.error(`loadgen: ${e.message}\n${USAGE}`); process.exit(2); }
if (o.help || !SCENARIOS[o.scenario] || !o.url) { console.error(USAGE); process.exit(o.help ? 0 : 2); }

const fmt = (x, d = 0) => (x == null ? 'n/a' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d }));

try {
  const r = { label: o.label, transport: o.transport, url: o.url, stateless: o.stateless || undefined, ...(await SCENARIOS[o.scenario](o)) };
  if (r.scenario === 'echo') {
    console.error(`${o.label ?? ''} echo ${r.connections}x${r.pipeline}: ${fmt(r.calls_per_s)} calls/s, p50 ${fmt(r.latency_ms.p50, 3)} ms, p99 ${fmt(r.latency_ms.p99, 3)} ms, errors ${r.errors}, server ${fmt(r.server_cpu_pct)}% / client ${fmt(r.client_cpu_pct)}% CPU`);
  } else if (r.scenario === 'progress') {
    console.error(`${o.label ?? ''} progress ${fmt(r.count)}: ${fmt(r.notifications_per_s)} notifications/s, first ${fmt(r.time_to_first_ms, 1)} ms, result ${fmt(r.time_to_result_ms)} ms, lost ${r.lost_notifications}, errors ${r.errors}, server ${fmt(r.server_cpu_pct)}% / client ${fmt(r.client_cpu_pct)}% CPU`);
  } else {
    console.error(`${o.label ?? ''} idle ${r.sessions} sessions (${r.sessions_failed} failed): ${r.bytes_per_session == null ? 'n/a' : (r.bytes_per_session / 1024).toFixed(1)} KiB/session after GC, ${fmt(r.sessions_per_s)} opened/s, ping ${r.ping_ok}/${r.ping_sample}`);
  }
  if (r.error_samples?.length) console.error(`  errors: ${r.error_samples.join(' | ')}`);
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
} catch (e) {
  console.error(`loadgen: ${e?.stack ?? e}`);
  if (o.json) process.stdout.write(JSON.stringify({ label: o.label, transport: o.transport, scenario: o.scenario, fatal: String(e?.message ?? e) }) + '\n');
  process.exit(1);
}
